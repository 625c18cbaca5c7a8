"""A GOPROXY tree of many small module versions for the console benchmark:
MODULES modules of VERSIONS versions each (plus example.com/bench/big with
BIG versions), every go.mod requiring example.com/bench/m0000, every .info
with an Origin, every zip with a LICENSE. Prints `module@version` lines.

Usage: python3 bench/console-tree.py ROOT MODULES VERSIONS BIG
"""
import os
import sys
import zipfile

root, modules, versions, big = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])


def version(module, v, requires):
    d = os.path.join(root, module, "@v")
    os.makedirs(d, exist_ok=True)
    gomod = f"module {module}\n\ngo 1.21\n"
    if requires != module:
        gomod += f"\nrequire {requires} v1.0.0\n"
    open(os.path.join(d, v + ".mod"), "w").write(gomod)
    open(os.path.join(d, v + ".info"), "w").write(
        '{"Version":"%s","Time":"2024-01-01T00:00:00Z","Origin":{"VCS":"git","URL":"https://%s",'
        '"Hash":"%040x","Ref":"refs/tags/%s"}}' % (v, module, hash((module, v)) & (2**160 - 1), v))
    with open(os.path.join(d, "list"), "a") as f:
        f.write(v + "\n")
    with zipfile.ZipFile(os.path.join(d, v + ".zip"), "w", zipfile.ZIP_DEFLATED) as z:
        prefix = f"{module}@{v}/"
        z.writestr(prefix + "go.mod", gomod)
        z.writestr(prefix + "LICENSE", "MIT License\n")
        z.writestr(prefix + "x.go", "package x\n")
    print(f"{module}@{v}")


base = "example.com/bench/m0000"
for i in range(modules):
    for n in range(versions):
        version(f"example.com/bench/m{i:04d}", f"v1.0.{n}", base)
for n in range(big):
    version("example.com/bench/big", f"v1.{n}.0", base)
