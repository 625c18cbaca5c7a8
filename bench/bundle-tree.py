"""A GOPROXY tree of COUNT module versions, each zip MIB of incompressible
data, and the go.sum naming them (h1: hashes computed as x/mod's dirhash),
for the bundle benchmark.

Usage: python3 bench/bundle-tree.py ROOT COUNT MIB   (writes ROOT/go.sum)
"""
import base64
import hashlib
import io
import os
import sys
import zipfile

root, count, mib = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])


def h1(files):
    summary = "".join(f"{hashlib.sha256(data).hexdigest()}  {name}\n" for name, data in sorted(files))
    return "h1:" + base64.b64encode(hashlib.sha256(summary.encode()).digest()).decode()


lines = []
for i in range(count):
    module, version = f"example.com/bench/m{i:04d}", "v1.0.0"
    d = os.path.join(root, module, "@v")
    os.makedirs(d)
    gomod = f"module {module}\n\ngo 1.21\n".encode()
    open(os.path.join(d, version + ".mod"), "wb").write(gomod)
    open(os.path.join(d, version + ".info"), "w").write('{"Version":"%s","Time":"2024-01-01T00:00:00Z"}' % version)
    open(os.path.join(d, "list"), "w").write(version + "\n")
    prefix = f"{module}@{version}/"
    files = [(prefix + "go.mod", gomod), (prefix + "m.go", b"package m\n"), (prefix + "testdata/blob.bin", os.urandom(mib << 20))]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        for name, data in files:
            z.writestr(name, data)
    open(os.path.join(d, version + ".zip"), "wb").write(buf.getvalue())
    lines.append(f"{module} {version} {h1(files)}\n")
    lines.append(f"{module} {version}/go.mod {h1([('go.mod', gomod)])}\n")
open(os.path.join(root, "go.sum"), "w").write("".join(lines))
