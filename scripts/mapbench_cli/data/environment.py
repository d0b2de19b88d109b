"""What shaped a run's numbers, read from its environment.json, and how runs differ.

Used by compare (warn when BASE and CURRENT ran under different settings), report (the
environment appendix) and matrix. Pure functions over dicts: nothing here prints.
"""

from __future__ import annotations

import json
from typing import Dict, Iterable, List, Optional, Sequence, Set, Tuple

# Settings that change between any two runs without saying anything about the numbers
# (each a key or the prefix of a group of keys).
_VOLATILE_PREFIXES = (
    "run.run_id", "run.start_time", "run.end_time", "run.row_status_counts", "run.complete",
    "run.command_line", "run.uid", "run.hostname", "run.machine_class", "memory.MemAvailable_bytes", "scratch.path",
    "virtualization.note", "perf.counters",
    "merged",  # a merged dataset's list of sources (`mapbench merge`): each source is compared instead
)
_VOLATILE_SUFFIXES = (".free_hugepages", ".resv_hugepages", ".surplus_hugepages")

# compare warns when one of these differs between BASE and CURRENT (prefix match).
WATCHED: Tuple[Tuple[str, str], ...] = (
    ("kernel.release", "kernel release"),
    ("thp.", "THP setting"),
    ("cpu.model", "CPU model"),
    ("cpu.logical_cpus", "logical CPUs"),
    ("perf.mode", "counters mode"),
    ("perf.counters_available", "counters available"),
    ("perf.counters_kernel", "kernel-mode counting"),
    ("tunings_applied", "tunings applied"),
    ("run.suite", "suite"),
)

# The settings a report lists for a single run (prefix match, in this order).
KEY_SETTINGS: Tuple[str, ...] = (
    "kernel.release", "kernel.cmdline", "cpu.model", "cpu.logical_cpus", "cpu.hypervisor", "cpu.scaling_governor",
    "memory.MemTotal_bytes", "memory.SwapTotal_bytes", "memory.numa_nodes",
    "thp.enabled", "thp.defrag", "thp.shmem_enabled", "thp.sizes.", "hugetlb.", "vm.",
    "scratch.filesystem", "scratch.source", "scratch.read_ahead_kb", "scratch.scheduler", "scratch.rotational",
    "perf.mode", "perf.counters_available", "perf.perf_event_paranoid", "cpu.vulnerabilities.",
    "virtualization.", "cgroup.", "build.", "run.suite", "run.filter", "run.processes", "run.repetitions",
    "tunings_applied",
)


def _text(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    return json.dumps(value, sort_keys=True)


def _tunings_text(tunings) -> str:
    if not isinstance(tunings, list) or not tunings:
        return "none"
    parts = []
    for t in tunings:
        if isinstance(t, dict):
            parts.append(f"{t.get('knob', '?')}={t.get('after', t.get('requested', '?'))} "
                         f"(was {t.get('before', '?')})")
        else:
            parts.append(_text(t))
    return "; ".join(parts)


def _repetitions(command_line) -> Optional[str]:
    if not isinstance(command_line, list):
        return None
    for i, arg in enumerate(command_line):
        arg = str(arg)
        if arg.startswith("--benchmark_repetitions="):
            return arg.split("=", 1)[1]
        if arg == "--benchmark_repetitions" and i + 1 < len(command_line):
            return str(command_line[i + 1])
    return None


def flatten(env: Optional[dict]) -> Dict[str, str]:
    """environment.json as {dotted.key: text}, without the settings that always change."""
    if not isinstance(env, dict):
        return {}
    out: Dict[str, str] = {}

    def walk(prefix: str, value) -> None:
        if isinstance(value, dict):
            for k in sorted(value, key=str):
                walk(f"{prefix}.{k}" if prefix else str(k), value[k])
        else:
            out[prefix] = _text(value)

    for key in sorted(env, key=str):
        if key == "tunings_applied":
            out[key] = _tunings_text(env[key])
        else:
            walk(str(key), env[key])
    perf = env.get("perf")
    if isinstance(perf, dict) and isinstance(perf.get("counters"), list):
        names = [str(c.get("column")) for c in perf["counters"] if isinstance(c, dict) and c.get("available")]
        out["perf.counters_available"] = ",".join(names) or "none"
    run = env.get("run")
    if isinstance(run, dict):
        reps = _repetitions(run.get("command_line"))
        if reps is not None:
            out["run.repetitions"] = reps
    return {k: v for k, v in out.items() if not _volatile(k)}


def _volatile(key: str) -> bool:
    return any(key == p or key.startswith(p + ".") for p in _VOLATILE_PREFIXES) or key.endswith(_VOLATILE_SUFFIXES)


def _matches(key: str, prefix: str) -> bool:
    return key == prefix or (prefix.endswith(".") and key.startswith(prefix))


def differences(envs: Sequence[Optional[dict]]) -> Dict[str, List[Optional[str]]]:
    """{key: [value in each env (None: absent)]} for every key whose value is not the same in all."""
    flat = [flatten(e) for e in envs]
    keys = sorted(set().union(*flat)) if flat else []
    out = {}
    for key in keys:
        values = [f.get(key) for f in flat]
        if len(set(values)) > 1:
            out[key] = values
    return out


def key_settings(env: Optional[dict]) -> List[Tuple[str, str]]:
    """The settings worth listing for one run, in KEY_SETTINGS order."""
    flat = flatten(env)
    out, seen = [], set()
    for prefix in KEY_SETTINGS:
        for key in sorted(k for k in flat if _matches(k, prefix) or k == prefix):
            if key not in seen:
                seen.add(key)
                out.append((key, flat[key]))
    return out


def watched_label(key: str) -> Optional[str]:
    for prefix, label in WATCHED:
        if key == prefix or (prefix.endswith(".") and key.startswith(prefix)):
            return label
    return None


def merged(envs: Iterable[Optional[dict]]) -> Tuple[Dict[str, str], Dict[str, List[Optional[str]]]]:
    """Settings of several runs of one side: (common settings, settings that differ among them)."""
    envs = [e for e in envs if isinstance(e, dict)]
    if not envs:
        return {}, {}
    diff = differences(envs)
    common = {k: v for k, v in flatten(envs[0]).items() if k not in diff}
    return common, diff


def watched_changes(base_envs: Sequence[Optional[dict]], current_envs: Sequence[Optional[dict]]
                    ) -> List[Tuple[str, str, str, str]]:
    """(label, key, BASE value, CURRENT value) for each watched setting that changed.

    A side of several runs whose own runs disagree shows its values joined by ' | '."""
    def side(envs):
        flat = [flatten(e) for e in envs if isinstance(e, dict)]
        keys = set().union(*flat) if flat else set()
        return {k: " | ".join(dict.fromkeys(f.get(k, "absent") for f in flat)) for k in keys}

    b, c = side(base_envs), side(current_envs)
    if not b or not c:
        return []
    out = []
    for key in sorted(set(b) | set(c)):
        label = watched_label(key)
        if label is None:
            continue
        bv, cv = b.get(key, "absent"), c.get(key, "absent")
        if bv != cv:
            out.append((label, key, bv, cv))
    return out


def interleave_of(envs: Sequence[Optional[dict]]) -> dict:
    """The first run's "interleave" block (`mapbench --interleave`: knob, values, seed, mode);
    {} when there is none."""
    for env in envs:
        block = (env or {}).get("interleave")
        if isinstance(block, dict):
            return block
    return {}


def declared_headlines(envs: Iterable[Optional[dict]]) -> Dict[str, Set[str]]:
    """{family: the headline columns the runs declare for it} (environment.json "families",
    Family::headline); a family no run declares is absent (runs recorded before declarations)."""
    declared: Dict[str, Set[str]] = {}
    for env in envs:
        families = (env or {}).get("families")
        for family, info in (families.items() if isinstance(families, dict) else ()):
            if isinstance(info, dict) and isinstance(info.get("headline"), str):
                declared.setdefault(str(family), set()).add(info["headline"])
    return declared


# --- machine identity and merged datasets (`mapbench merge`) -----------------------------

MERGED_KEY = "merged"


def identity(env: Optional[dict]) -> Dict[str, str]:
    """{host, kernel_release, machine_class} as environment.json records them ("" when absent):
    the values of an older run's missing identity columns."""
    env = env if isinstance(env, dict) else {}
    run = env.get("run") if isinstance(env.get("run"), dict) else {}
    kernel = env.get("kernel") if isinstance(env.get("kernel"), dict) else {}

    def text(value) -> str:
        return value if isinstance(value, str) else ""

    return {"host": text(run.get("hostname")), "kernel_release": text(kernel.get("release")),
            "machine_class": text(run.get("machine_class"))}


def merged_sources(env: Optional[dict]) -> Optional[List[Tuple[str, Optional[dict]]]]:
    """(run_id, its environment or None) for each run of a merged dataset's environment.json;
    None when `env` is one run's own."""
    block = env.get(MERGED_KEY) if isinstance(env, dict) else None
    if not isinstance(block, dict) or not isinstance(block.get("runs"), list):
        return None
    out = []
    for entry in block["runs"]:
        if isinstance(entry, dict) and isinstance(entry.get("run_id"), str):
            source = entry.get("environment")
            out.append((entry["run_id"], source if isinstance(source, dict) else None))
    return out


def machine_differences(base: Dict[str, Sequence[str]], current: Dict[str, Sequence[str]]) -> str:
    """One line saying which of host, kernel release and machine class differ between two sides
    ({column: values on that side}); "" when the sides ran on the same machines, or when one
    side does not say (an older run without environment.json, no --machine_class)."""
    words = {"host": "hosts", "kernel_release": "kernels", "machine_class": "machine classes"}
    parts = []
    for column, word in words.items():
        b = sorted(set(base.get(column, ())))
        c = sorted(set(current.get(column, ())))
        if b != c and b not in ([], [""]) and c not in ([], [""]):  # a side that does not say is no difference
            def shown(values):
                return ", ".join(v or "(none)" for v in values[:4]) + (" …" if len(values) > 4 else "")
            parts.append(f"{word} BASE {shown(b)} → CURRENT {shown(c)}")
    return ("different machines: " + "; ".join(parts)) if parts else ""
