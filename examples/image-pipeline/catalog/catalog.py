# The image pipeline's catalog: three handlers of one module, each its own
# function in funnel.toml.
#
#   record         subscribed to topic `images`: appends one JSON line per
#                  image to /buckets/thumbnails/catalog.jsonl
#   list_images    GET /images: the catalogued images whose thumbnails are
#                  still there (a deleted upload's thumbnails are removed)
#   get_thumbnail  GET /thumbnails/{size}/{key+}: a thumbnail's bytes
#
# funnel mounts a granted bucket at /buckets/<name> (bucket_access in the
# stack): that is how these read and write objects, instead of boto3.
import base64
import json
import os

THUMBNAILS = "/buckets/thumbnails"
CATALOG = THUMBNAILS + "/catalog.jsonl"
SIZES = ("small", "medium", "large")


def record(event, context):
    """One line per image announced on the topic, in one append."""
    lines = []
    for r in event["Records"]:
        sns = r["Sns"]
        image = json.loads(sns["Message"])
        image["catalogued_at"] = sns["Timestamp"]
        lines.append(json.dumps(image, separators=(",", ":")) + "\n")
        print("catalogued " + image["key"])
    # One write of whole lines: appends from concurrent environments do
    # not interleave.
    with open(CATALOG, "a") as catalog:
        catalog.write("".join(lines))
    return {"catalogued": len(lines)}


def list_images(event, context):
    """The catalog's images (the newest line of each key) whose small
    thumbnail still exists, oldest first."""
    images = {}
    try:
        with open(CATALOG) as catalog:
            for line in catalog:
                if line.strip():
                    image = json.loads(line)
                    images.pop(image["key"], None)
                    images[image["key"]] = image
    except FileNotFoundError:
        pass
    present = [
        image
        for key, image in images.items()
        if os.path.exists(f"{THUMBNAILS}/small/{key}")
    ]
    return {"count": len(present), "images": present}


def get_thumbnail(event, context):
    params = event.get("pathParameters") or {}
    size, key = params.get("size"), params.get("key", "")
    if size not in SIZES:
        return answer(400, {"message": f"size must be one of {', '.join(SIZES)}, not {size!r}"})
    if any(part in ("", ".", "..") for part in key.split("/")):
        return answer(400, {"message": f"not an object key: {key!r}"})
    try:
        with open(f"{THUMBNAILS}/{size}/{key}", "rb") as f:
            data = f.read()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return answer(404, {"message": f"no {size} thumbnail of {key!r}"})
    return {
        "statusCode": 200,
        "headers": {"content-type": content_type(data), "cache-control": "max-age=60"},
        "body": base64.b64encode(data).decode("ascii"),
        "isBase64Encoded": True,
    }


def content_type(data):
    # Thumbnails of JPEGs are JPEGs; of everything else, PNGs (whatever the
    # key's suffix says).
    return "image/jpeg" if data.startswith(b"\xff\xd8\xff") else "image/png"


def answer(status, body):
    return {
        "statusCode": status,
        "headers": {"content-type": "application/json"},
        "body": json.dumps(body),
    }
