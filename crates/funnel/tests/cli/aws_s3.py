"""boto3 against funnel's S3: what the aws CLI test does not reach.
Presigned URLs, virtual-host addressing, checksums and Content-MD5 (a wrong
one refused, nothing stored), ListObjects v1 and v2 pages, a multipart
upload by hand (parts listed, completed, another aborted), ranges, and,
over TLS (--ca), the aws-chunked bodies botocore sends there.

Run by crates/funnel/tests/cli/aws_s3.rs; by hand:

    python3 aws_s3.py --endpoint http://127.0.0.1:7880 \
        --credentials .funnel/credentials [--ca .funnel/tls/ca.pem]

Prints "ok <check>" per check; the first failure raises.
"""

import argparse
import base64
import configparser
import hashlib
import socket
import sys
import urllib.error
import urllib.request
import ssl

import boto3
import botocore.config
import botocore.exceptions

BUCKET = "boto-checks"


def keys(path):
    ini = configparser.ConfigParser()
    ini.read(path)
    for section in ini.sections():
        if "aws_access_key_id" in ini[section]:
            return ini[section]["aws_access_key_id"], ini[section]["aws_secret_access_key"]
    sys.exit(f"no aws_access_key_id in {path}")


def code(err):
    return err.response.get("Error", {}).get("Code")


def refused(expected, call, *args, **kwargs):
    try:
        call(*args, **kwargs)
    except botocore.exceptions.ClientError as err:
        assert code(err) == expected, f"{call.__name__}: {code(err)}, not {expected}"
        return err
    raise AssertionError(f"{call.__name__} should have failed with {expected}")


def ok(name):
    print(f"ok {name}", flush=True)


class Checks:
    def __init__(self, args):
        self.endpoint = args.endpoint
        self.key, self.secret = keys(args.credentials)
        self.verify = args.ca if args.ca else None
        self.s3 = self.client()

    def client(self, **s3_config):
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=self.key,
            aws_secret_access_key=self.secret,
            region_name="local",
            verify=self.verify,
            config=botocore.config.Config(
                retries={"total_max_attempts": 1}, s3=s3_config or None
            ),
        )

    def urlopen(self, request):
        context = ssl.create_default_context(cafile=self.verify) if self.verify else None
        return urllib.request.urlopen(request, timeout=30, context=context)

    def run(self, tls):
        s3 = self.s3
        s3.create_bucket(Bucket=BUCKET)
        s3.head_bucket(Bucket=BUCKET)
        refused("404", s3.head_bucket, Bucket="no-such-bucket-here")
        ok("create and head a bucket")

        key = "dir/ünï cødé+&=.txt"
        sent = []
        s3.meta.events.register(
            "before-send.s3.PutObject",
            lambda request, **_: sent.append(request.headers.get("x-amz-content-sha256")),
        )
        put = s3.put_object(Bucket=BUCKET, Key=key, Body=b"hello, funnel")
        if tls:
            # Over TLS botocore streams: aws-chunked, a CRC32 in the trailer.
            assert sent == [b"STREAMING-UNSIGNED-PAYLOAD-TRAILER"], sent
            assert put["ChecksumCRC32"], put
        got = s3.get_object(Bucket=BUCKET, Key=key)
        assert got["Body"].read() == b"hello, funnel"
        assert got["ETag"] == put["ETag"] == '"%s"' % hashlib.md5(b"hello, funnel").hexdigest()
        assert got["ContentLength"] == 13
        tail = s3.get_object(Bucket=BUCKET, Key=key, Range="bytes=-6")
        assert tail["Body"].read() == b"funnel" and tail["ContentRange"] == "bytes 7-12/13"
        ok("put and get an odd key, and its last bytes")

        # The type and user metadata travel with the object, and with its
        # copies; REPLACE gives a copy its own.
        s3.put_object(Bucket=BUCKET, Key="typed.json", Body=b"{}",
                      ContentType="application/json", Metadata={"Origin": "sensor-7"})
        for read in (s3.head_object, s3.get_object):
            answer = read(Bucket=BUCKET, Key="typed.json")
            assert answer["ContentType"] == "application/json", answer
            assert answer["Metadata"] == {"origin": "sensor-7"}, answer
        source = {"Bucket": BUCKET, "Key": "typed.json"}
        s3.copy_object(Bucket=BUCKET, Key="typed-copy.json", CopySource=source)
        copy = s3.head_object(Bucket=BUCKET, Key="typed-copy.json")
        assert (copy["ContentType"], copy["Metadata"]) == ("application/json",
                                                           {"origin": "sensor-7"}), copy
        s3.copy_object(Bucket=BUCKET, Key="typed.json", CopySource=source,
                       MetadataDirective="REPLACE", ContentType="text/plain",
                       Metadata={"origin": "re-typed"})
        again = s3.head_object(Bucket=BUCKET, Key="typed.json")
        assert (again["ContentType"], again["Metadata"]) == ("text/plain",
                                                            {"origin": "re-typed"}), again
        refused("MetadataTooLarge", s3.put_object, Bucket=BUCKET, Key="heavy", Body=b"x",
                Metadata={"k": "v" * 2048})
        refused("404", s3.head_object, Bucket=BUCKET, Key="heavy")
        ok("Content-Type and x-amz-meta-* are kept, copied and replaced")

        # Wrong digests: refused, and nothing is stored.
        wrong_md5 = base64.b64encode(hashlib.md5(b"other").digest()).decode()
        refused("BadDigest", s3.put_object, Bucket=BUCKET, Key="md5", Body=b"data",
                ContentMD5=wrong_md5)
        refused("BadDigest", s3.put_object, Bucket=BUCKET, Key="crc", Body=b"data",
                ChecksumCRC32="AAAAAA==")
        for absent in ("md5", "crc"):
            refused("404", s3.head_object, Bucket=BUCKET, Key=absent)
        right_md5 = base64.b64encode(hashlib.md5(b"data").digest()).decode()
        s3.put_object(Bucket=BUCKET, Key="md5", Body=b"data", ContentMD5=right_md5)
        s3.put_object(Bucket=BUCKET, Key="sha", Body=b"data", ChecksumAlgorithm="SHA256")
        ok("a wrong Content-MD5 or checksum is refused, right ones are taken")

        # Presigned URLs, for GET and PUT, and one tampered with.
        url = s3.generate_presigned_url(
            "get_object", Params={"Bucket": BUCKET, "Key": key}, ExpiresIn=300
        )
        with self.urlopen(url) as answer:
            assert answer.read() == b"hello, funnel"
        try:
            self.urlopen(url.replace("X-Amz-Signature=", "X-Amz-Signature=0"))
            raise AssertionError("a tampered presigned URL was served")
        except urllib.error.HTTPError as err:
            assert err.code == 403 and b"SignatureDoesNotMatch" in err.read()
        put_url = s3.generate_presigned_url(
            "put_object", Params={"Bucket": BUCKET, "Key": "presigned"}, ExpiresIn=300
        )
        request = urllib.request.Request(put_url, data=b"via a URL", method="PUT")
        with self.urlopen(request) as answer:
            assert answer.status == 200
        assert s3.get_object(Bucket=BUCKET, Key="presigned")["Body"].read() == b"via a URL"
        ok("presigned GET and PUT; a tampered URL is refused")

        # Virtual-host style: bucket.localhost resolves to the server.
        if "127.0.0.1" in self.endpoint and not tls:
            resolve = socket.getaddrinfo

            def local(host, *args, **kwargs):
                if isinstance(host, str) and host.endswith(".localhost"):
                    host = "127.0.0.1"
                return resolve(host, *args, **kwargs)

            socket.getaddrinfo = local
            try:
                hosted = boto3.client(
                    "s3",
                    endpoint_url=self.endpoint.replace("127.0.0.1", "localhost"),
                    aws_access_key_id=self.key,
                    aws_secret_access_key=self.secret,
                    region_name="local",
                    config=botocore.config.Config(s3={"addressing_style": "virtual"}),
                )
                hosted.put_object(Bucket=BUCKET, Key="hosted", Body=b"by host")
                assert s3.get_object(Bucket=BUCKET, Key="hosted")["Body"].read() == b"by host"
            finally:
                socket.getaddrinfo = resolve
            ok("virtual-host-style addressing")

        # Listings in pages: v2 by token, v1 by marker, with a delimiter.
        for i in range(5):
            s3.put_object(Bucket=BUCKET, Key=f"list/{i}", Body=b"x")
        pages = s3.get_paginator("list_objects_v2").paginate(
            Bucket=BUCKET, Prefix="list/", PaginationConfig={"PageSize": 2}
        )
        listed = [o["Key"] for page in pages for o in page.get("Contents", [])]
        assert listed == [f"list/{i}" for i in range(5)], listed
        pages = s3.get_paginator("list_objects").paginate(
            Bucket=BUCKET, Prefix="list/", PaginationConfig={"PageSize": 2}
        )
        listed = [o["Key"] for page in pages for o in page.get("Contents", [])]
        assert listed == [f"list/{i}" for i in range(5)], listed
        top = s3.list_objects(Bucket=BUCKET, Delimiter="/")
        prefixes = sorted(p["Prefix"] for p in top.get("CommonPrefixes", []))
        assert prefixes == ["dir/", "list/"], prefixes
        ok("ListObjectsV2 and ListObjects in pages, and with a delimiter")

        # A multipart upload by hand.
        first = b"a" * (5 * 1024 * 1024)
        upload = s3.create_multipart_upload(Bucket=BUCKET, Key="parts", ContentType="video/mp4",
                                            Metadata={"take": "3"})["UploadId"]
        one = s3.upload_part(Bucket=BUCKET, Key="parts", UploadId=upload, PartNumber=1, Body=first)
        two = s3.upload_part(Bucket=BUCKET, Key="parts", UploadId=upload, PartNumber=2, Body=b"end")
        parts = s3.list_parts(Bucket=BUCKET, Key="parts", UploadId=upload)["Parts"]
        assert [(p["PartNumber"], p["Size"]) for p in parts] == [(1, len(first)), (2, 3)], parts
        done = s3.complete_multipart_upload(
            Bucket=BUCKET, Key="parts", UploadId=upload,
            MultipartUpload={"Parts": [
                {"PartNumber": 1, "ETag": one["ETag"]},
                {"PartNumber": 2, "ETag": two["ETag"]},
            ]},
        )
        digests = hashlib.md5(first).digest() + hashlib.md5(b"end").digest()
        assert done["ETag"] == '"%s-2"' % hashlib.md5(digests).hexdigest(), done
        whole = s3.get_object(Bucket=BUCKET, Key="parts")
        assert whole["Body"].read() == first + b"end"
        assert (whole["ContentType"], whole["Metadata"]) == ("video/mp4", {"take": "3"}), whole
        other = s3.create_multipart_upload(Bucket=BUCKET, Key="dropped")["UploadId"]
        s3.abort_multipart_upload(Bucket=BUCKET, Key="dropped", UploadId=other)
        refused("NoSuchUpload", s3.upload_part, Bucket=BUCKET, Key="dropped",
                UploadId=other, PartNumber=1, Body=b"late")
        ok("a multipart upload: parts listed and completed; an aborted one is gone")

        # The high-level transfer: over TLS botocore sends aws-chunked
        # bodies with a trailing CRC32.
        big = bytes(range(256)) * (12 * 4096)
        import io
        s3.upload_fileobj(io.BytesIO(big), BUCKET, "transfer")
        out = io.BytesIO()
        s3.download_fileobj(BUCKET, "transfer", out)
        assert out.getvalue() == big
        ok("upload_fileobj and download_fileobj of 12 MB" + (" over TLS" if tls else ""))

        # Cleanup by one batch delete, then the bucket.
        listed = s3.list_objects_v2(Bucket=BUCKET)["Contents"]
        deleted = s3.delete_objects(
            Bucket=BUCKET, Delete={"Objects": [{"Key": o["Key"]} for o in listed]}
        )
        assert len(deleted["Deleted"]) == len(listed) and not deleted.get("Errors"), deleted
        s3.delete_bucket(Bucket=BUCKET)
        ok("a batch delete empties the bucket, which is deleted")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--credentials", required=True)
    parser.add_argument("--ca", help="the CA bundle of a TLS endpoint")
    args = parser.parse_args()
    Checks(args).run(tls=args.endpoint.startswith("https:"))


if __name__ == "__main__":
    main()
