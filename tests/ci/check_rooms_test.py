#!/usr/bin/env python3
"""ci/check-rooms on small temporary trees: it passes a tree that keeps the room order
and fails, naming file and line, on each kind of include it forbids. Standard library
only; run by ctest (check_rooms_catches_violations)."""
import pathlib
import subprocess
import sys
import tempfile

CHECKER = pathlib.Path(__file__).resolve().parents[2] / "ci" / "check-rooms"


def run(files):
    with tempfile.TemporaryDirectory() as root:
        for name, text in files.items():
            path = pathlib.Path(root, name)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        result = subprocess.run([sys.executable, str(CHECKER), root], capture_output=True,
                                text=True)
        return result.returncode, result.stdout


GOOD = {
    "harness/kernel/a.h": "#pragma once\n#include <sys/mman.h>\n#include <string>\n",
    "harness/kernel/a.cc": '#include "harness/kernel/a.h"\n',
    "harness/process/b.h": '#include "harness/kernel/a.h"\n',
    "harness/measure/c.h": '#include "harness/process/b.h"\n#include <benchmark/benchmark.h>\n',
    "harness/run/d.cc": '#include "harness/measure/c.h"\n#include "tests/harness/x.h"\n',
    "harness/facade.h": '#include "harness/run/d.h"\n',
}

BAD = {
    "kernel includes measure": ("harness/kernel/a.cc", '#include "harness/measure/c.h"\n',
                                "harness/kernel/a.cc:1"),
    "process includes run": ("harness/process/b.cc", '\n#include "harness/run/d.h"\n',
                             "harness/process/b.cc:2"),
    "run includes the facade": ("harness/run/e.h", '#  include "harness/facade.h"\n',
                                "harness/run/e.h:1"),
    "kernel uses a library": ("harness/kernel/f.h", "#include <benchmark/benchmark.h>\n",
                              "harness/kernel/f.h:1"),
    "a file outside the rooms": ("harness/util/g.h", "#pragma once\n", "harness/util/g.h"),
    "an include of no room": ("harness/run/h.cc", '#include "harness/util/g.h"\n',
                              "harness/run/h.cc:1"),
}


def main():
    failures = []
    code, out = run(GOOD)
    if code != 0:
        failures.append(f"good tree: exit {code}, {out!r}")
    for what, (name, text, where) in BAD.items():
        code, out = run({**GOOD, name: text})
        if code != 1 or where not in out:
            failures.append(f"{what}: exit {code}, expected 1 naming {where}: {out!r}")
    for failure in failures:
        print("FAIL", failure)
    print(f"{len(BAD) + 1 - len(failures)} of {len(BAD) + 1} trees judged right")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
