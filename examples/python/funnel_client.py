"""A funnel client in Python, generated from proto/ alone.

    pip install grpcio-tools==1.85.1
    FUNNEL_ACCESS_KEY_ID=AKIA... FUNNEL_SECRET_ACCESS_KEY=... \
        python funnel_client.py http://127.0.0.1:7878 path/to/hello.wasm

It compiles ../../proto/funnel/v1/functions.proto with grpcio-tools at start,
creates a function named `hello-py` from the given component, invokes it with
{"name": "Python"} and prints the response. It uses nothing but the .proto
file: the field names are Lambda's (FunctionName, Payload, ...). Every call
carries `authorization: Bearer <AccessKeyId>:<SecretAccessKey>` metadata (the
key from the environment, e.g. the operator's from .funnel/credentials).
"""

import os
import sys
import tempfile

import grpc
from grpc_tools import protoc

HERE = os.path.dirname(os.path.abspath(__file__))
PROTO_ROOT = os.path.join(HERE, "..", "..", "proto")


def load_stubs():
    out = tempfile.mkdtemp(prefix="funnel-py-")
    args = [
        "protoc",
        f"-I{PROTO_ROOT}",
        f"--python_out={out}",
        f"--grpc_python_out={out}",
        "funnel/v1/functions.proto",
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    sys.path.insert(0, out)
    from funnel.v1 import functions_pb2, functions_pb2_grpc

    return functions_pb2, functions_pb2_grpc


def main():
    endpoint, wasm_path = sys.argv[1], sys.argv[2]
    pb, pb_grpc = load_stubs()
    target = endpoint.removeprefix("http://")
    options = [("grpc.max_send_message_length", 64 << 20), ("grpc.max_receive_message_length", 64 << 20)]
    key = os.environ["FUNNEL_ACCESS_KEY_ID"], os.environ["FUNNEL_SECRET_ACCESS_KEY"]
    auth = [("authorization", f"Bearer {key[0]}:{key[1]}")]
    with grpc.insecure_channel(target, options=options) as channel:
        functions = pb_grpc.FunctionsStub(channel)
        with open(wasm_path, "rb") as f:
            code = f.read()
        created = functions.CreateFunction(
            pb.CreateFunctionRequest(
                FunctionName="hello-py",
                Code=pb.FunctionCode(ZipFile=code),
                MemorySize=128,
                Timeout=3,
                Environment=pb.Environment(Variables={"GREETING": "Hej"}),
            ),
            metadata=auth,
        )
        print("created", created.FunctionArn, created.CodeSha256)
        out = functions.Invoke(
            pb.InvokeRequest(FunctionName="hello-py", Payload=b'{"name": "Python"}', LogType="Tail"),
            metadata=auth,
        )
        print("status", out.StatusCode, "error", repr(out.FunctionError))
        print("payload", out.Payload.decode())
        try:
            functions.GetFunction(pb.GetFunctionRequest(FunctionName="nope"), metadata=auth)
        except grpc.RpcError as err:
            print("error", dict(err.trailing_metadata()).get("x-amzn-errortype"), err.details())


if __name__ == "__main__":
    main()
