// Start a Step Functions execution and poll it with continuation tokens until it ends: the
// aws-samples trigger's shape, in Node.js with the SDK v3 clients the runtime bundles.
const { CodePipelineClient, PutJobSuccessResultCommand, PutJobFailureResultCommand } =
  require('@aws-sdk/client-codepipeline');
const { SFNClient, StartExecutionCommand, DescribeExecutionCommand } =
  require('@aws-sdk/client-sfn');

const codepipeline = new CodePipelineClient({});
const sfn = new SFNClient({});

exports.handler = async (event) => {
  const job = event['CodePipeline.job'];
  const params = JSON.parse(job.data.actionConfiguration.configuration.UserParameters);
  const token = job.data.continuationToken;
  try {
    if (!token) {
      const started = await sfn.send(new StartExecutionCommand({
        stateMachineArn: params.stateMachineArn,
        input: JSON.stringify(params.input || {}),
      }));
      await codepipeline.send(new PutJobSuccessResultCommand({
        jobId: job.id,
        continuationToken: started.executionArn,
        executionDetails: { summary: 'Execution started', externalExecutionId: started.executionArn },
      }));
      return;
    }
    const described = await sfn.send(new DescribeExecutionCommand({ executionArn: token }));
    if (described.status === 'RUNNING') {
      await codepipeline.send(new PutJobSuccessResultCommand({
        jobId: job.id, continuationToken: token, executionDetails: { summary: 'Execution running' },
      }));
    } else if (described.status === 'SUCCEEDED') {
      await codepipeline.send(new PutJobSuccessResultCommand({
        jobId: job.id, executionDetails: { summary: (described.output || '').slice(0, 2048) },
      }));
    } else {
      await codepipeline.send(new PutJobFailureResultCommand({
        jobId: job.id, failureDetails: { type: 'JobFailed', message: `Execution ${described.status}` },
      }));
    }
  } catch (error) {
    console.log('Failed:', error);
    await codepipeline.send(new PutJobFailureResultCommand({
      jobId: job.id, failureDetails: { type: 'JobFailed', message: String(error.message).slice(0, 5000) },
    }));
  }
};
