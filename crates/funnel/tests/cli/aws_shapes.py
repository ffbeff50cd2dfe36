"""The same boto3 calls against funnel's AWS endpoint and against moto's
server, compared by shape: each answer's HTTP status and the structure of
its parsed body (keys, list element shapes, value types; never values, so
ARNs, ids and timestamps do not count), and for one not-found call per
service the error's Code and status. Prints one line per difference:

    operation: path: funnel <type/absent> vs moto <type/absent>

Run by crates/funnel/tests/cli/aws_shapes.rs, which starts both servers;
by hand:

    python3 aws_shapes.py --funnel http://127.0.0.1:7880 \
        --funnel-credentials .funnel/credentials \
        --moto http://127.0.0.1:5000 --wasm echo.wasm
"""

import argparse
import configparser
import datetime
import io
import json
import sys
import time
import urllib.request
import zipfile

import boto3
import botocore.config
import botocore.exceptions
import botocore.response

FUNCTION = "shapes"
TOPIC = "shapes"
RULE = "shapes"
# moto only accepts a role that exists in its IAM; funnel ignores it.
ROLE_NAME = "shapes-role"
TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
)
PYTHON_HANDLER = b"def handler(event, context):\n    return event\n"


def zipped(name, data):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, data)
    return buffer.getvalue()


def funnel_keys(path):
    """The first profile's keys in funnel's credentials file (the aws CLI's
    INI shape)."""
    ini = configparser.ConfigParser()
    ini.read(path)
    for section in ini.sections():
        if "aws_access_key_id" in ini[section]:
            return ini[section]["aws_access_key_id"], ini[section]["aws_secret_access_key"]
    sys.exit(f"no aws_access_key_id in {path}")


def logged(logs, group):
    """Whether `group` has events yet (it does not exist until its first)."""
    try:
        return bool(logs.filter_log_events(logGroupName=group)["events"])
    except botocore.exceptions.ClientError as err:
        if err.response["Error"]["Code"] != "ResourceNotFoundException":
            raise
        return False


def wait_for_moto(endpoint):
    """Waits until moto answers, then turns off its docker-backed Lambda
    runtime (Invoke then answers without running the code)."""
    deadline = time.monotonic() + 60
    while True:
        try:
            request = urllib.request.Request(
                endpoint + "/moto-api/config",
                data=json.dumps({"lambda": {"use_docker": False}}).encode(),
                method="POST",
            )
            urllib.request.urlopen(request, timeout=5).read()
            return
        except OSError as err:
            if time.monotonic() > deadline:
                sys.exit(f"moto at {endpoint} did not answer: {err}")
            time.sleep(0.2)


class Side:
    """One server: its boto3 clients and the answers it gave."""

    def __init__(self, name, endpoint, key, secret, region):
        self.name = name
        self.endpoint = endpoint
        self.session = boto3.Session(
            aws_access_key_id=key, aws_secret_access_key=secret, region_name=region
        )
        self.config = botocore.config.Config(retries={"total_max_attempts": 1})
        self.clients = {}
        self.answers = {}

    def client(self, service):
        if service not in self.clients:
            self.clients[service] = self.session.client(
                service, endpoint_url=self.endpoint, config=self.config
            )
        return self.clients[service]

    def call(self, service, operation, **params):
        """The answer to one call: ("ok", status, body) or ("error", status,
        code). A streamed body is read (and counted as bytes)."""
        try:
            answer = getattr(self.client(service), operation)(**params)
        except botocore.exceptions.ClientError as err:
            meta = err.response.get("ResponseMetadata", {})
            return ("error", meta.get("HTTPStatusCode"), err.response.get("Error", {}).get("Code"))
        status = answer.pop("ResponseMetadata", {}).get("HTTPStatusCode")
        for key, value in list(answer.items()):
            if isinstance(value, botocore.response.StreamingBody):
                answer[key] = value.read()
        return ("ok", status, answer)


def shape(value):
    """The structure of a parsed answer: dicts by key, lists by the merged
    shape of their elements, scalars by type name."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        merged = None
        for item in value:
            merged = merge(merged, shape(item))
        return ["any" if merged is None else merged]
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, datetime.datetime):
        return "datetime"
    if isinstance(value, (bytes, bytearray)):
        return "bytes"
    if isinstance(value, str):
        return "str"
    if value is None:
        return "null"
    return type(value).__name__


def merge(a, b):
    if a is None:
        return b
    if isinstance(a, dict) and isinstance(b, dict):
        out = dict(a)
        for key, value in b.items():
            out[key] = merge(out.get(key), value)
        return out
    if isinstance(a, list) and isinstance(b, list):
        if a == ["any"]:
            return b
        if b == ["any"]:
            return a
        return [merge(a[0], b[0])]
    return a


def describe(s):
    if isinstance(s, dict):
        return "dict"
    if isinstance(s, list):
        return "list"
    return s


def differences(path, f, m, out):
    if isinstance(f, dict) and isinstance(m, dict):
        for key in sorted(set(f) | set(m)):
            sub = f"{path}.{key}" if path else key
            if key not in f:
                out.append((sub, "absent", describe(m[key])))
            elif key not in m:
                out.append((sub, describe(f[key]), "absent"))
            else:
                differences(sub, f[key], m[key], out)
    elif isinstance(f, list) and isinstance(m, list):
        # An empty list matches any element shape: counts are values.
        if f != ["any"] and m != ["any"]:
            differences(f"{path}[]", f[0], m[0], out)
    elif describe(f) != describe(m):
        out.append((path or "(body)", describe(f), describe(m)))


class Comparison:
    def __init__(self, funnel, moto):
        self.funnel = funnel
        self.moto = moto
        self.lines = []
        self.called = 0

    def report(self, operation, path, f, m):
        self.lines.append(f"{operation}: {path}: funnel {f} vs moto {m}")

    def same(self, label, service, operation, funnel_params, moto_params=None):
        """Makes one call on each side and reports how their answers'
        shapes differ; returns both answers' bodies (None for an error)."""
        self.called += 1
        f = self.funnel.call(service, operation, **funnel_params)
        m = self.moto.call(service, operation, **(funnel_params if moto_params is None else moto_params))
        if f[1] != m[1]:
            self.report(label, "HTTPStatusCode", f[1], m[1])
        if f[0] == "error" or m[0] == "error":
            if f[0] != m[0] or f[2] != m[2]:
                self.report(
                    label,
                    "Error.Code",
                    f[2] if f[0] == "error" else "ok",
                    m[2] if m[0] == "error" else "ok",
                )
            return (f[2] if f[0] == "ok" else None, m[2] if m[0] == "ok" else None)
        found = []
        differences("", shape(f[2]), shape(m[2]), found)
        for path, fs, ms in found:
            self.report(label, path, fs, ms)
        return f[2], m[2]

    def both(self, label, service, operation, **params):
        return self.same(label, service, operation, params)

    def each(self, label, service, operation, funnel_params, moto_params):
        return self.same(label, service, operation, funnel_params, moto_params)


def run(args):
    key, secret = funnel_keys(args.funnel_credentials)
    funnel = Side("funnel", args.funnel, key, secret, "local")
    moto = Side("moto", args.moto, "testing", "testing", "us-east-1")
    wait_for_moto(args.moto)
    role = moto.client("iam").create_role(RoleName=ROLE_NAME, AssumeRolePolicyDocument=TRUST)
    role_arn = role["Role"]["Arn"]
    c = Comparison(funnel, moto)

    # Lambda.
    with open(args.wasm, "rb") as f:
        wasm = f.read()
    common = {
        "FunctionName": FUNCTION,
        "Role": role_arn,
        "Description": "shapes",
        "Timeout": 5,
        "MemorySize": 256,
        "Environment": {"Variables": {"GREETING": "Hello"}},
    }
    created = c.each(
        "lambda.CreateFunction",
        "lambda",
        "create_function",
        dict(common, Runtime="provided.al2023", Handler="bootstrap",
             Code={"ZipFile": zipped("echo.wasm", wasm)}),
        dict(common, Runtime="python3.12", Handler="handler.handler",
             Code={"ZipFile": zipped("handler.py", PYTHON_HANDLER)}),
    )
    function_arn = [body["FunctionArn"] if body else FUNCTION for body in created]
    c.both("lambda.GetFunction", "lambda", "get_function", FunctionName=FUNCTION)
    c.both("lambda.GetFunctionConfiguration", "lambda", "get_function_configuration",
           FunctionName=FUNCTION)
    c.both("lambda.ListFunctions", "lambda", "list_functions")
    c.both("lambda.UpdateFunctionConfiguration", "lambda", "update_function_configuration",
           FunctionName=FUNCTION, MemorySize=512,
           Environment={"Variables": {"GREETING": "Hi"}})
    # moto applies a configuration update asynchronously only in name; both
    # answer Active at once, so publishing right away is fine.
    c.both("lambda.PublishVersion", "lambda", "publish_version", FunctionName=FUNCTION)
    c.both("lambda.ListVersionsByFunction", "lambda", "list_versions_by_function",
           FunctionName=FUNCTION)
    c.both("lambda.CreateAlias", "lambda", "create_alias", FunctionName=FUNCTION,
           Name="live", FunctionVersion="1")
    c.both("lambda.GetAlias", "lambda", "get_alias", FunctionName=FUNCTION, Name="live")
    c.both("lambda.ListAliases", "lambda", "list_aliases", FunctionName=FUNCTION)
    c.both("lambda.AddPermission", "lambda", "add_permission", FunctionName=FUNCTION,
           StatementId="sns", Action="lambda:InvokeFunction",
           Principal="sns.amazonaws.com")
    c.both("lambda.GetPolicy", "lambda", "get_policy", FunctionName=FUNCTION)
    c.both("lambda.PutFunctionConcurrency", "lambda", "put_function_concurrency",
           FunctionName=FUNCTION, ReservedConcurrentExecutions=2)
    c.both("lambda.GetFunctionConcurrency", "lambda", "get_function_concurrency",
           FunctionName=FUNCTION)
    c.both("lambda.Invoke", "lambda", "invoke", FunctionName=FUNCTION,
           Payload=b'{"name":"Ada"}', LogType="Tail")
    c.both("lambda.GetFunction (not found)", "lambda", "get_function",
           FunctionName="no-such-function")

    # SNS.
    topic = c.both("sns.CreateTopic", "sns", "create_topic", Name=TOPIC)
    topic_arn = [body["TopicArn"] if body else TOPIC for body in topic]
    c.both("sns.ListTopics", "sns", "list_topics")
    subscribed = c.each(
        "sns.Subscribe", "sns", "subscribe",
        {"TopicArn": topic_arn[0], "Protocol": "lambda", "Endpoint": function_arn[0]},
        {"TopicArn": topic_arn[1], "Protocol": "lambda", "Endpoint": function_arn[1]},
    )
    subscription_arn = [body["SubscriptionArn"] if body else "none" for body in subscribed]
    c.each("sns.ListSubscriptionsByTopic", "sns", "list_subscriptions_by_topic",
           {"TopicArn": topic_arn[0]}, {"TopicArn": topic_arn[1]})
    policy = {"AttributeName": "FilterPolicy", "AttributeValue": '{"kind":["a"]}'}
    c.each("sns.SetSubscriptionAttributes", "sns", "set_subscription_attributes",
           dict(policy, SubscriptionArn=subscription_arn[0]),
           dict(policy, SubscriptionArn=subscription_arn[1]))
    c.each("sns.GetSubscriptionAttributes", "sns", "get_subscription_attributes",
           {"SubscriptionArn": subscription_arn[0]},
           {"SubscriptionArn": subscription_arn[1]})
    message = {
        "Message": "hello",
        "MessageAttributes": {"kind": {"DataType": "String", "StringValue": "a"}},
    }
    c.each("sns.Publish", "sns", "publish",
           dict(message, TopicArn=topic_arn[0]), dict(message, TopicArn=topic_arn[1]))
    missing_topic = [arn.rsplit(":", 1)[0] + ":no-such-topic" for arn in topic_arn]
    c.each("sns.Publish (not found)", "sns", "publish",
           dict(message, TopicArn=missing_topic[0]),
           dict(message, TopicArn=missing_topic[1]))
    c.each("sns.DeleteTopic", "sns", "delete_topic",
           {"TopicArn": topic_arn[0]}, {"TopicArn": topic_arn[1]})

    # EventBridge.
    c.both("events.PutRule", "events", "put_rule", Name=RULE,
           ScheduleExpression="rate(5 minutes)")
    c.both("events.DescribeRule", "events", "describe_rule", Name=RULE)
    c.both("events.ListRules", "events", "list_rules")
    c.each("events.PutTargets", "events", "put_targets",
           {"Rule": RULE, "Targets": [{"Id": "1", "Arn": function_arn[0]}]},
           {"Rule": RULE, "Targets": [{"Id": "1", "Arn": function_arn[1]}]})
    c.both("events.ListTargetsByRule", "events", "list_targets_by_rule", Rule=RULE)
    c.both("events.RemoveTargets", "events", "remove_targets", Rule=RULE, Ids=["1"])
    c.both("events.DeleteRule", "events", "delete_rule", Name=RULE)
    c.both("events.DescribeRule (not found)", "events", "describe_rule", Name="no-such-rule")

    # CloudWatch Logs: funnel wrote the invocation's lines itself (in the
    # background, within milliseconds); moto runs no code, so its group
    # gets one line put by hand.
    group = f"/aws/lambda/{FUNCTION}"
    logs = moto.client("logs")
    try:
        logs.create_log_group(logGroupName=group)
    except logs.exceptions.ResourceAlreadyExistsException:
        pass
    logs.create_log_stream(logGroupName=group, logStreamName="shapes")
    logs.put_log_events(
        logGroupName=group,
        logStreamName="shapes",
        logEvents=[{"timestamp": int(time.time() * 1000), "message": "hello"}],
    )
    deadline = time.monotonic() + 30
    while not logged(funnel.client("logs"), group):
        if time.monotonic() > deadline:
            sys.exit(f"funnel wrote no log events to {group}")
        time.sleep(0.1)
    c.both("logs.DescribeLogGroups", "logs", "describe_log_groups")
    c.both("logs.FilterLogEvents", "logs", "filter_log_events", logGroupName=group)
    c.both("logs.FilterLogEvents (not found)", "logs", "filter_log_events",
           logGroupName="/aws/lambda/no-such-function")

    # STS (no not-found error to ask for).
    c.both("sts.GetCallerIdentity", "sts", "get_caller_identity")

    # S3: a bucket, objects, a copy, a batch delete, a multipart upload,
    # notifications (moto needs no permission for them; funnel does).
    s3_calls(c, function_arn)

    c.both("lambda.DeleteFunction", "lambda", "delete_function", FunctionName=FUNCTION)

    for line in c.lines:
        print(line)
    print(f"{c.called} calls compared, {len(c.lines)} differences", file=sys.stderr)


def s3_calls(c, function_arn):
    bucket = "shapes-bucket"
    c.funnel.client("lambda").add_permission(
        FunctionName=FUNCTION, StatementId="s3", Action="lambda:InvokeFunction",
        Principal="s3.amazonaws.com", SourceArn=f"arn:funnel:s3:::{bucket}")
    c.both("s3.CreateBucket", "s3", "create_bucket", Bucket=bucket)
    c.both("s3.HeadBucket", "s3", "head_bucket", Bucket=bucket)
    c.both("s3.ListBuckets", "s3", "list_buckets")
    c.both("s3.PutObject", "s3", "put_object", Bucket=bucket, Key="a/b.txt", Body=b"hello")
    c.both("s3.HeadObject", "s3", "head_object", Bucket=bucket, Key="a/b.txt")
    c.both("s3.GetObject", "s3", "get_object", Bucket=bucket, Key="a/b.txt")
    c.both("s3.GetObject (range)", "s3", "get_object", Bucket=bucket, Key="a/b.txt",
           Range="bytes=1-3")
    c.both("s3.CopyObject", "s3", "copy_object", Bucket=bucket, Key="copy.txt",
           CopySource={"Bucket": bucket, "Key": "a/b.txt"})
    c.both("s3.ListObjectsV2", "s3", "list_objects_v2", Bucket=bucket)
    c.both("s3.ListObjectsV2 (delimiter)", "s3", "list_objects_v2", Bucket=bucket,
           Delimiter="/")
    c.both("s3.ListObjects", "s3", "list_objects", Bucket=bucket)
    c.both("s3.DeleteObjects", "s3", "delete_objects", Bucket=bucket,
           Delete={"Objects": [{"Key": "copy.txt"}, {"Key": "never"}]})
    c.both("s3.DeleteObject", "s3", "delete_object", Bucket=bucket, Key="a/b.txt")
    created = c.both("s3.CreateMultipartUpload", "s3", "create_multipart_upload",
                     Bucket=bucket, Key="parts")
    uploads = [body["UploadId"] if body else "none" for body in created]
    part = b"p" * (5 * 1024 * 1024)
    one = c.each("s3.UploadPart", "s3", "upload_part",
                 dict(Bucket=bucket, Key="parts", UploadId=uploads[0], PartNumber=1, Body=part),
                 dict(Bucket=bucket, Key="parts", UploadId=uploads[1], PartNumber=1, Body=part))
    c.each("s3.ListParts", "s3", "list_parts",
           dict(Bucket=bucket, Key="parts", UploadId=uploads[0]),
           dict(Bucket=bucket, Key="parts", UploadId=uploads[1]))
    c.both("s3.ListMultipartUploads", "s3", "list_multipart_uploads", Bucket=bucket)
    etags = [body["ETag"] if body else "none" for body in one]
    c.each("s3.CompleteMultipartUpload", "s3", "complete_multipart_upload",
           dict(Bucket=bucket, Key="parts", UploadId=uploads[0],
                MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etags[0]}]}),
           dict(Bucket=bucket, Key="parts", UploadId=uploads[1],
                MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etags[1]}]}))
    dropped = c.both("s3.CreateMultipartUpload", "s3", "create_multipart_upload",
                     Bucket=bucket, Key="dropped")
    dropped = [body["UploadId"] if body else "none" for body in dropped]
    c.each("s3.AbortMultipartUpload", "s3", "abort_multipart_upload",
           dict(Bucket=bucket, Key="dropped", UploadId=dropped[0]),
           dict(Bucket=bucket, Key="dropped", UploadId=dropped[1]))
    notification = [{
        "LambdaFunctionConfigurations": [{
            "Id": "shapes",
            "LambdaFunctionArn": arn,
            "Events": ["s3:ObjectCreated:*"],
            "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "in/"}]}},
        }]
    } for arn in function_arn]
    c.each("s3.PutBucketNotificationConfiguration", "s3",
           "put_bucket_notification_configuration",
           dict(Bucket=bucket, NotificationConfiguration=notification[0]),
           dict(Bucket=bucket, NotificationConfiguration=notification[1]))
    c.both("s3.GetBucketNotificationConfiguration", "s3",
           "get_bucket_notification_configuration", Bucket=bucket)
    c.both("s3.GetObject (not found)", "s3", "get_object", Bucket=bucket, Key="nothing")
    c.both("s3.DeleteBucket (not empty)", "s3", "delete_bucket", Bucket=bucket)
    c.both("s3.DeleteObject (parts)", "s3", "delete_object", Bucket=bucket, Key="parts")
    c.both("s3.DeleteBucket", "s3", "delete_bucket", Bucket=bucket)
    c.both("s3.HeadBucket (not found)", "s3", "head_bucket", Bucket=bucket)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--funnel", required=True, help="funnel's AWS endpoint URL")
    parser.add_argument("--funnel-credentials", required=True,
                        help="funnel's credentials file (the operator's keys)")
    parser.add_argument("--moto", required=True, help="moto server URL")
    parser.add_argument("--wasm", required=True, help="the echo guest's component")
    run(parser.parse_args())


if __name__ == "__main__":
    main()
