# The AWS Lambda S3 tutorial function ("get the content type of an uploaded
# object"), ported to funnel: funnel has no boto3 or network, so instead of
# s3.get_object the function reads the object from the bucket's folder,
# /buckets/<bucket>/<key>, which funnel mounts when the function is granted
# the bucket (bucket_access). The content type comes from the object's
# first bytes, as S3 would have recorded it for an upload that set none.
import json
import urllib.parse

SIGNATURES = [
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
    (b"PK\x03\x04", "application/zip"),
]


def content_type(data):
    for signature, kind in SIGNATURES:
        if data.startswith(signature):
            return kind
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return "application/octet-stream"
    try:
        json.loads(text)
        return "application/json"
    except ValueError:
        return "text/plain"


def lambda_handler(event, context):
    # Get the object from the event and show its content type
    bucket = event["Records"][0]["s3"]["bucket"]["name"]
    key = urllib.parse.unquote_plus(event["Records"][0]["s3"]["object"]["key"], encoding="utf-8")
    try:
        with open(f"/buckets/{bucket}/{key}", "rb") as obj:
            kind = content_type(obj.read(512))
        print("CONTENT TYPE: " + kind)
        return kind
    except Exception as e:
        print(e)
        print(
            "Error getting object {} from bucket {}. Make sure they exist and your bucket is "
            "granted to this function (bucket_access).".format(key, bucket)
        )
        raise e
