"""lifecycle_ipc: what do creating, changing and growing a mapping cost by size, and which
way of moving data between processes (or serving a file) is fastest?

- `lifecycle_ipc-lifecycle`: log-log against the region size: mmap + munmap untouched
  and with every page written, mprotect there and back; and growing a buffer to twice
  its size by mremap against allocate-and-copy.
- `lifecycle_ipc-ipc`: bandwidth of handing fresh data to another process through a
  shared mapping, System V shared memory or a pipe, by size; and of serving a cached file
  over a socket by read + send, mmap + send or sendfile (lines against the file size when
  several ran, else bars per socket).
"""

from __future__ import annotations

from typing import List, Tuple

import pandas as pd

from mapbench_cli.figures import common as fc
from mapbench_cli.data import schema

FAMILY = "lifecycle_ipc"
SIZE = "size_kib"
GROW = "grow_ns_per_op"
LIFECYCLE_WORDS = {("map_unmap", "none"): "mmap + munmap (untouched)",
                   ("map_unmap", "all"): "mmap + write every page + munmap",
                   ("mprotect", ""): "mprotect(R) + mprotect(RW), populated"}
GROW_WORDS = {"mremap": "mremap (page tables move)", "copy": "new mapping + copy + unmap old"}
TRANSFER_WORDS = {"shared_mapping": "shared mapping (MAP_SHARED|MAP_ANONYMOUS)", "sysv_shm": "System V shm",
                  "pipe": "pipe"}
SERVE_WORDS = {"read_send": "pread + send", "mmap_send": "mmap + send", "sendfile": "sendfile"}
TRANSFER_ORDER = tuple(TRANSFER_WORDS)
SERVE_ORDER = tuple(SERVE_WORDS)
SOCKET_ORDER = ("tcp", "unix")
SOCKET_WORDS = {"tcp": "TCP loopback", "unix": "Unix socket pair"}
KNOWN = tuple(LIFECYCLE_WORDS.values()) + tuple(GROW_WORDS.values()) + tuple(TRANSFER_WORDS.values()) + \
    tuple(SERVE_WORDS.values())  # colours are handed out in this order


def _describe(row) -> str:
    what = row.get("method", "") or row.get("touch", "")
    size = row.get(SIZE)
    shown = fc.kib_label(size) if isinstance(size, float) and size == size else ""
    return " ".join(str(p) for p in (row.get("workload", "?"), what, shown) if p)


def _part(frame: pd.DataFrame, workload: str, columns) -> pd.DataFrame:
    if frame.empty or "workload" not in frame:
        return frame.iloc[0:0]
    return fc.rows_with(frame[frame["workload"] == workload], [SIZE] + list(columns))


def lifecycle_ipc_figures(rows: pd.DataFrame, ctx) -> Tuple[List[Tuple[str, object]], pd.Index]:
    fr = fc.split(rows, ctx, FAMILY)
    workload = fr.left_out["workload"] if "workload" in fr.left_out else pd.Series("", index=fr.left_out.index)
    ipc = workload.isin(["transfer", "serve_file"])
    notes_life = fc.left_out_notes(fr, _describe, fr.left_out[~ipc])
    notes_ipc = fc.left_out_notes(fr, _describe, fr.left_out[ipc])
    frames = {}
    for name, frame, flag in (("ok", fr.ok, False), ("bad", fr.flagged, True)):
        frame = fc.with_throughput(frame)
        frames[name] = {
            "map_unmap": _part(frame, "map_unmap", ["touch", fc.TIME]),
            "mprotect": _part(frame, "mprotect", [fc.TIME]),
            "mremap_growth": _part(frame, "mremap_growth", ["method", GROW]),
            "transfer": _part(frame, "transfer", ["method", fc.THROUGHPUT]),
            "serve_file": _part(frame, "serve_file", ["method", "socket", fc.THROUGHPUT]),
        }
        for key in frames[name]:
            frames[name][key] = frames[name][key].assign(_flag=flag)
    both = {k: pd.concat([frames["ok"][k], frames["bad"][k]]) for k in frames["ok"]}
    out = []
    placed = pd.Index([])
    if any(not both[k].empty for k in ("map_unmap", "mprotect", "mremap_growth")):
        out.append((f"{FAMILY}-lifecycle", _lifecycle_figure(both, notes_life, ctx)))
    if any(not both[k].empty for k in ("transfer", "serve_file")):
        out.append((f"{FAMILY}-ipc", _ipc_figure(both, notes_ipc, ctx)))
    for k in frames["ok"]:
        placed = placed.union(frames["ok"][k].index)
    if not out:
        if fr.left_out.empty:
            return [], placed
        return [fc.nothing_measured(FAMILY, fr, notes_life + notes_ipc, ctx)], fr.covered(placed)
    return out, fr.covered(placed)


def _size_ticks(sizes):
    return [(s, fc.kib_label(s)) for s in sizes]


def _series(draw, summary, label_of, colour_of, divisor, marker_of=None):
    """One line per `_series` key; each with its own marker (unless given), so lines that meet
    at a point (or a series of one point under another) stay visible."""
    series = []
    for i, (key, part) in enumerate(summary.groupby("_series", sort=False)):
        points = [draw.Point(r[SIZE], fc.value(r, divisor), flagged=bool(r["_flag"])) for _, r in part.iterrows()]
        marker = marker_of(key) if marker_of else draw.MARKERS[i % len(draw.MARKERS)]
        series.append(draw.Series(label_of(key), colour_of(key), points, marker=marker))
    return series


def _lifecycle_figure(both, notes_left, ctx):
    draw = fc.draw_module()
    panels, summaries, legend = [], [], []
    life = pd.concat([both["map_unmap"].assign(_series=lambda f: list(zip(["map_unmap"] * len(f), f["touch"]))),
                      both["mprotect"].assign(_series=lambda f: [("mprotect", "")] * len(f))])
    if not life.empty:
        summary = fc.summarize(life, ["_series", SIZE, "_flag"], fc.TIME)
        summaries.append(summary)
        divisor, unit = fc.time_scale(summary["median"].tolist())
        order = [k for k in LIFECYCLE_WORDS if k in set(summary["_series"])] + \
            [k for k in dict.fromkeys(summary["_series"]) if k not in LIFECYCLE_WORDS]
        summary = summary.assign(_rank=[order.index(k) for k in summary["_series"]]).sort_values(["_rank", SIZE])
        words = lambda key: LIFECYCLE_WORDS.get(key, " ".join(str(k) for k in key if k))  # noqa: E731
        colour = lambda key: fc.colour(words(key), FAMILY, KNOWN)  # noqa: E731
        series = _series(draw, summary, words, colour, divisor)
        legend += [draw.Key(s.label, s.colour, "line", s.marker) for s in series]
        panels.append(draw.Lines(title="create, populate, change protection", xlabel="region size",
                                 ylabel=f"time per operation ({unit}){fc.LOWER}", series=series,
                                 xticks=_size_ticks(fc.numeric_order(summary[SIZE]))))
    grow = both["mremap_growth"].assign(_series=lambda f: list(f["method"]))
    if not grow.empty:
        summary = fc.summarize(grow, ["_series", SIZE, "_flag"], GROW)
        summaries.append(summary)
        divisor, unit = fc.time_scale(summary["median"].tolist())
        words = lambda key: GROW_WORDS.get(key, str(key))  # noqa: E731
        colour = lambda key: fc.colour(words(key), FAMILY, KNOWN)  # noqa: E731
        summary = summary.assign(_rank=[fc.ordered(summary["_series"], tuple(GROW_WORDS)).index(k)
                                        for k in summary["_series"]]).sort_values(["_rank", SIZE])
        series = _series(draw, summary, words, colour, divisor)
        legend += [draw.Key(s.label, s.colour, "line", s.marker) for s in series]
        panels.append(draw.Lines(title="grow a populated buffer to twice its size", xlabel="size before growing",
                                 ylabel=f"time to grow ({unit}){fc.LOWER}", series=series,
                                 xticks=_size_ticks(fc.numeric_order(summary[SIZE]))))
    flagged = pd.concat([both[k] for k in ("map_unmap", "mprotect", "mremap_growth")])
    flagged = flagged[flagged["_flag"].astype(bool)]
    if not flagged.empty:
        legend.append(draw.Key("not effective (hollow)", "#555555", "hollow"))
    notes = ["pages written are base pages (MADV_NOHUGEPAGE); mprotect: a populated region to read-only and back",
             "growth: mremap (may move, fixed target) into a 2 MiB-aligned reservation;",
             "against it: a new mapping, a copy, and an unmap of the old one",
             fc.intervals_note(*summaries)]
    notes += fc.flagged_note(flagged, "hollow: the configuration the row claims was not observed")
    notes += notes_left + [fc.run_note(ctx)]
    chart = draw.Chart(title=f"{FAMILY}: the cost of a mapping's lifecycle by size (log-log)", panels=[panels],
                       legend=legend, notes=fc.clean_notes(notes))
    return draw.draw(chart)


def _ipc_figure(both, notes_left, ctx):
    draw = fc.draw_module()
    tp_div, tp_unit = schema.display_scale(fc.THROUGHPUT)
    ylabel = f"throughput ({tp_unit}){fc.HIGHER}"
    panels, summaries, legend = [], [], []
    transfer = both["transfer"].assign(_series=lambda f: list(f["method"]))
    if not transfer.empty:
        summary = fc.summarize(transfer, ["_series", SIZE, "_flag"], fc.THROUGHPUT)
        summaries.append(summary)
        order = fc.ordered(summary["_series"], TRANSFER_ORDER)
        summary = summary.assign(_rank=[order.index(k) for k in summary["_series"]]).sort_values(["_rank", SIZE])
        words = lambda key: TRANSFER_WORDS.get(key, str(key))  # noqa: E731
        colour = lambda key: fc.colour(words(key), FAMILY, KNOWN)  # noqa: E731
        sizes = fc.numeric_order(summary[SIZE])
        if len(sizes) > 1:
            series = _series(draw, summary, words, colour, tp_div)
            legend += [draw.Key(s.label, s.colour, "line", s.marker) for s in series]
            panels.append(draw.Lines(title="fresh data to another process, by size", xlabel="data per transfer",
                                     ylabel=ylabel, series=series, xticks=_size_ticks(sizes),
                                     logy=draw.wants_log(summary["median"].tolist())))
        else:
            panels.append(_bars(draw, summary, words, colour, lambda r: "all", tp_div, ylabel,
                                f"fresh data to another process, {fc.kib_label(sizes[0])}", "method"))
    serve = both["serve_file"].assign(_series=lambda f: list(zip(f["method"], f["socket"])))
    if not serve.empty:
        summary = fc.summarize(serve, ["_series", SIZE, "_flag"], fc.THROUGHPUT)
        summaries.append(summary)
        methods = fc.ordered([k[0] for k in summary["_series"]], SERVE_ORDER)
        sockets = fc.ordered([k[1] for k in summary["_series"]], SOCKET_ORDER)
        summary = summary.assign(_rank=[(methods.index(k[0]), sockets.index(k[1])) for k in summary["_series"]]) \
            .sort_values(["_rank", SIZE])
        sizes = fc.numeric_order(summary[SIZE])
        words = lambda key: SERVE_WORDS.get(key[0], str(key[0])) + (  # noqa: E731
            f" ({SOCKET_WORDS.get(key[1], key[1])})" if len(sockets) > 1 else "")
        colour = lambda key: fc.colour(SERVE_WORDS.get(key[0], str(key[0])), FAMILY, KNOWN)  # noqa: E731
        marker = lambda key: "o" if sockets.index(key[1]) == 0 else "s"  # noqa: E731
        if len(sizes) > 1:
            series = _series(draw, summary, words, colour, tp_div, marker)
            legend += [draw.Key(s.label, s.colour, "line", s.marker) for s in series]
            panels.append(draw.Lines(title="serving a cached file over a socket, by size", xlabel="file size",
                                     ylabel=ylabel, series=series, xticks=_size_ticks(sizes),
                                     logy=draw.wants_log(summary["median"].tolist())))
        else:
            panels.append(_bars(draw, summary.assign(_series=[k[0] for k in summary["_series"]],
                                                     _socket=[k[1] for k in summary["_series"]]),
                                lambda key: SERVE_WORDS.get(key, str(key)), lambda key: "#8172b2",
                                lambda r: r["_socket"], tp_div, ylabel,
                                f"serving a cached {fc.kib_label(sizes[0])} file", "method",
                                variant_words=SOCKET_WORDS, variant_order=sockets))
    flagged = pd.concat([both[k] for k in ("transfer", "serve_file")])
    flagged = flagged[flagged["_flag"].astype(bool)]
    if not flagged.empty:
        legend.append(draw.Key("not effective (hollow / hatched)", "#555555", "hollow"))
    notes = ["transfer: a worker process writes fresh data (it changes every op) and this process sums it; one "
             "request per op, the pipe in 64 KiB chunks; serve_file: the receiver checksums what arrives",
             fc.intervals_note(*summaries)]
    notes += fc.flagged_note(flagged, "marked: the configuration the row claims was not observed")
    notes += notes_left + [fc.run_note(ctx)]
    chart = draw.Chart(title=f"{FAMILY}: moving data between processes, and serving a file", panels=[panels],
                       legend=legend, notes=fc.clean_notes(notes))
    return draw.draw(chart)


def _bars(draw, summary, words, colour, variant_of, divisor, ylabel, title, xlabel,
          variant_words=None, variant_order=None):
    variants = variant_order or list(dict.fromkeys(variant_of(r) for _, r in summary.iterrows()))
    palette = ["#8172b2", "#64b5cd", "#ccb974"]
    styles = {v: draw.BarStyle((variant_words or {}).get(v, v), palette[i % len(palette)])
              for i, v in enumerate(variants)}
    if len(variants) == 1 and variant_words is None:
        styles = {variants[0]: draw.BarStyle("", colour(summary["_series"].iloc[0]))}
    groups = [words(k) for k in dict.fromkeys(summary["_series"])]
    bars = {}
    for _, r in sorted(summary.iterrows(), key=lambda ir: bool(ir[1]["_flag"])):
        bars.setdefault((variant_of(r), words(r["_series"])), draw.Bar(fc.value(r, divisor), flagged=bool(r["_flag"])))
    title += "" if len(variants) == 1 and variant_words is None else \
        " · " + ", ".join(styles[v].label for v in variants)
    return draw.Bars(title=title, ylabel=ylabel, xlabel=xlabel, groups=groups, variants=variants, styles=styles,
                     bars=bars)
