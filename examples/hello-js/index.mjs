export const handler = async (event, context) => {
  const name = event.name ?? "world";
  console.log(`greeting ${name} (${context.memoryLimitInMB} MB, request ${context.awsRequestId})`);
  return {
    statusCode: 200,
    message: `Hello, ${name}!`,
  };
};
