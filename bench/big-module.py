"""A GOPROXY tree holding one module version whose zip is large and
incompressible, for the serving benchmarks.

Usage: python3 bench/big-module.py ROOT MODULE VERSION MIB
"""
import os
import sys
import zipfile

root, module, version, mib = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
d = os.path.join(root, module, "@v")
os.makedirs(d)
gomod = f"module {module}\n\ngo 1.21\n"
open(os.path.join(d, version + ".mod"), "w").write(gomod)
open(os.path.join(d, version + ".info"), "w").write('{"Version":"%s","Time":"2024-01-01T00:00:00Z"}' % version)
open(os.path.join(d, "list"), "w").write(version + "\n")
with zipfile.ZipFile(os.path.join(d, version + ".zip"), "w", zipfile.ZIP_DEFLATED) as z:
    prefix = f"{module}@{version}/"
    z.writestr(prefix + "go.mod", gomod)
    z.writestr(prefix + "big.go", "package big\n")
    z.writestr(prefix + "testdata/blob.bin", os.urandom(mib << 20))
