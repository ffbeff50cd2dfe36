import json
import os


def lambda_handler(event, context):
    name = event.get("name", "world")
    print(f"greeting {name} ({context.memory_limit_in_mb} MB, request {context.aws_request_id})")
    return {
        "statusCode": 200,
        "message": f"Hello, {name}!",
    }
