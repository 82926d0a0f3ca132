"""The quality report's charts as SVG (matplotlib, Noto Sans CJK), text kept as text."""

from __future__ import annotations

import io
from functools import cache

FONT = "Noto Sans CJK SC"
BLUE, ORANGE, GREEN, GREY = "#2f6fb0", "#e08a2c", "#4a9a5c", "#9aa5b1"
KIND_COLOURS = {"student": BLUE, "parent": ORANGE, "mentor": GREEN}


@cache
def _pyplot():
    """matplotlib, set up once: no display, the CJK font, SVG text left as text."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    plt.rcParams.update(
        {
            "font.family": [FONT, "DejaVu Sans"],
            "svg.fonttype": "none",  # WeasyPrint draws the text with the same embedded font
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.titlesize": 11,
            "font.size": 9,
            "svg.hashsalt": "shixi",  # the same figures give the same file
        }
    )
    return plt


def _svg(fig) -> str:
    plt = _pyplot()
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    return buf.getvalue()


def bars(items: list[dict], *, title: str, horizontal: bool = True, unit: str = "") -> str:
    """[{"name", "value"}] as a bar chart, largest first when horizontal."""
    plt = _pyplot()
    names = [i["name"] for i in items]
    values = [i["value"] for i in items]
    height = max(2.0, 0.32 * len(items) + 0.8) if horizontal else 2.8
    fig, ax = plt.subplots(figsize=(6.2, height))
    if horizontal:
        ax.barh(names[::-1], values[::-1], color=BLUE)
        for y, v in enumerate(values[::-1]):
            ax.text(v, y, f" {v:,}{unit}", va="center", fontsize=8)
        ax.set_xlim(0, (max(values) if values and max(values) else 1) * 1.18)
    else:
        ax.bar(names, values, color=BLUE)
        for x, v in enumerate(values):
            ax.text(x, v, f"{v:,}{unit}", ha="center", va="bottom", fontsize=8)
        ax.set_ylim(0, (max(values) if values and max(values) else 1) * 1.18)
    ax.set_title(title)
    return _svg(fig)


def rates(items: list[tuple[str, float | None]], *, title: str) -> str:
    """Rates (0..1, or None for no data) as horizontal bars on a 0-100% axis."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.2, 0.45 * len(items) + 0.9))
    labels = [label for label, _ in items][::-1]
    values = [(v or 0) * 100 for _, v in items][::-1]
    ax.barh(labels, [100] * len(items), color="#eef2f7")
    ax.barh(labels, values, color=GREEN)
    for y, (_, v) in enumerate(items[::-1]):
        ax.text(101, y, "暂无数据" if v is None else f"{v * 100:.1f}%", va="center", fontsize=9)
    ax.set_xlim(0, 118)
    ax.set_xticks([0, 25, 50, 75, 100], ["0", "25%", "50%", "75%", "100%"])
    ax.set_title(title)
    return _svg(fig)


def weekly_lines(weeks: list[dict], *, title: str) -> str:
    """签到率 and 周记提交率 per week."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.2, 2.8))
    labels = [f"{w['monday']:%m-%d}" for w in weeks]
    checkin = [_pct(w["checkin"]) for w in weeks]
    weekly = [_pct(w["weekly"]) for w in weeks]
    ax.plot(labels, checkin, marker="o", color=BLUE, label="签到率")
    ax.plot(labels, weekly, marker="s", color=ORANGE, label="周记提交率")
    ax.set_ylim(0, 105)
    ax.set_ylabel("%")
    ax.legend(loc="lower right", frameon=False)
    ax.set_title(title)
    ax.tick_params(axis="x", labelrotation=45 if len(labels) > 8 else 0)
    return _svg(fig)


def _pct(rate: dict | None) -> float | None:
    return None if not rate or rate["value"] is None else rate["value"] * 100


def paired_bars(
    names: list[str], first: list[int], second: list[int], labels: tuple[str, str], title: str
) -> str:
    """Two counts per name side by side (e.g. submitted and graded)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.2, 2.6))
    xs = range(len(names))
    ax.bar([x - 0.2 for x in xs], first, width=0.4, color=BLUE, label=labels[0])
    ax.bar([x + 0.2 for x in xs], second, width=0.4, color=GREEN, label=labels[1])
    ax.set_xticks(list(xs), names)
    ax.legend(frameon=False)
    ax.set_title(title)
    return _svg(fig)


def satisfaction(kinds: list[dict], *, title: str) -> str:
    """The mean score of each question, per respondent kind (1-5)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.2, 2.8))
    shown = [k for k in kinds if k["answered"]]
    width = 0.8 / max(len(shown), 1)
    for i, k in enumerate(shown):
        xs = [q + (i - (len(shown) - 1) / 2) * width for q in range(5)]
        ax.bar(xs, [v or 0 for v in k["questions"]], width=width, label=k["label"],
               color=KIND_COLOURS.get(k["kind"], GREY))  # fmt: skip
    ax.set_xticks(range(5), [f"第{i}题" for i in range(1, 6)])
    ax.set_ylim(0, 5.4)
    ax.set_yticks([1, 2, 3, 4, 5])
    ax.legend(frameon=False, ncols=3, loc="upper center", bbox_to_anchor=(0.5, -0.12))
    ax.set_title(title)
    return _svg(fig)
