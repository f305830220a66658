"""CodePipeline for the local cloud: pipelines that really run.

- ``models``: the backend of one region, one method per operation (``PipelineEngine``)
- ``pipelines``: declarations as CodePipeline keeps them — every version, metadata, tags
- ``declarations``: what CreatePipeline/UpdatePipeline refuse, with AWS's exceptions
- ``scheduler``: executions through stages, as the execution mode says
- ``providers``: the actions the local cloud runs — S3 source, S3 deploy, Lambda invoke
- ``jobs``: the job board of Lambda actions — jobs, results, continuations
- ``polling``: PollForSourceChanges — a new version of a source's object starts a release
- ``variables``: ``#{NAMESPACE.NAME}`` and its resolution
- ``executions``: the records of a run and how the state APIs render them
- ``responses`` (the JSON API), ``paging`` (nextTokens), ``exceptions`` (AWS's errors)
"""
