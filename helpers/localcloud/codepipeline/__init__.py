"""CodePipeline for the local cloud: an engine that really runs pipelines."""
