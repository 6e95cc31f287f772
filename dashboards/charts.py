"""Small figure helpers shared by the builders: titled figures, hidden small counts, the lockdown marker."""

from __future__ import annotations

import datetime as dt

import plotly.graph_objects as go

from dashboards.model import LOCKDOWN_START, count_cell, is_small, small_label
from pipelines.french import format_date, format_decimal, format_int

DAY_HOVER = "%{x|%-d %B %Y}"
# A point of a daily series: its day, its series, its (possibly hidden) count.
SERIES_HOVER = f"{DAY_HOVER}<br>%{{fullData.name}} : %{{customdata}}<extra></extra>"
# French order on date axes ("16 mars", not "mars 16"), whatever the zoom.
DAY_TICKS = [
    {"dtickrange": [None, 86_399_999], "value": "%-d %b %H h"},
    {"dtickrange": [86_400_000, "M1"], "value": "%-d %b"},
    {"dtickrange": ["M1", "M12"], "value": "%b %Y"},
    {"dtickrange": ["M12", None], "value": "%Y"},
]


def titled(title: str, x_title: str = "", y_title: str = "", height: int = 420) -> go.Figure:
    """An empty figure with its title and axis titles; the dashboards' look is given when it is written (dashboards.html)."""
    fig = go.Figure(layout={"template": "none"})  # not plotly's default, which every new figure would copy
    fig.update_layout(title={"text": title}, height=height, xaxis_title=x_title, yaxis_title=y_title)
    return fig


def day_axis(fig: go.Figure) -> go.Figure:
    """Write the x axis's days in French order."""
    fig.update_xaxes(type="date", tickformatstops=DAY_TICKS)
    return fig


NO_DATA = "Aucune donnée pour l'instant"


def no_data(fig: go.Figure, text: str = NO_DATA) -> go.Figure:
    """Mark a figure that has nothing to draw, so the page says so instead of showing empty axes."""
    fig.add_annotation(text=text, showarrow=False, xref="paper", yref="paper",
                       x=0.5, y=0.5, font={"size": 16})
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig


def masked_values(values: list[int], threshold: int) -> tuple[list[int | None], list[str]]:
    """Plotted values (None where the count is small) and their hover labels ('4 558' or '< 5')."""
    plotted = [None if is_small(value, threshold) else value for value in values]
    return plotted, [count_cell(value, threshold) for value in values]


def masked_rates(rates: list[float | None], counts: list[int], threshold: int,
                 digits: int = 2) -> tuple[list[float | None], list[str]]:
    """Rates to plot, hidden where the count they derive from is small, and their hover labels."""
    hidden = [is_small(count, threshold) for count in counts]
    plotted = [None if hide else rate for rate, hide in zip(rates, hidden, strict=True)]
    labels = [f"masqué (effectif {small_label(threshold)})" if hide else "—" if rate is None
              else format_decimal(rate, digits) for rate, hide in zip(rates, hidden, strict=True)]
    return plotted, labels


def all_hidden(threshold: int) -> str:
    """What a chart says when every count it would draw is small."""
    return f"Tous les effectifs sont inférieurs à {threshold} : rien n'est tracé"


def mark_hidden_bars(fig: go.Figure, positions: list, hidden: list[bool], label: str,
                     horizontal: bool = False) -> None:
    """Write the hidden-count label where a bar is missing, so a gap does not read as nothing."""
    for position, is_hidden in zip(positions, hidden, strict=True):
        if is_hidden:
            place = {"x": 0, "y": position, "xanchor": "left"} if horizontal else {"x": position, "y": 0,
                                                                                  "yanchor": "bottom"}
            fig.add_annotation(**place, text=label, showarrow=False, font={"color": "#5c636a"})


def add_total(fig: go.Figure, days: list[dt.date], totals: list[int]) -> None:
    """The exact total of a daily breakdown, as a thick dark line above its parts."""
    fig.add_scatter(x=days, y=totals, customdata=[format_int(total) for total in totals], name="Total",
                    mode="lines", line={"color": "#333333", "width": 3},
                    hovertemplate=f"{DAY_HOVER}<br>Total : %{{customdata}}<extra></extra>")


def mark_lockdown(fig: go.Figure, first: dt.date, last: dt.date) -> None:
    """Draw the start of the lockdown (16 March 2020) as a dashed line when the data spans it."""
    start = dt.date.fromisoformat(LOCKDOWN_START)
    if not first <= start <= last:
        return
    fig.add_shape(type="line", x0=start, x1=start, xref="x", y0=0, y1=1, yref="paper",
                  line={"dash": "dash", "width": 1.5, "color": "#b02a37"})
    fig.add_annotation(x=start, y=1, xref="x", yref="paper", yanchor="bottom", showarrow=False,
                       text=f"Début du confinement ({format_date(start)})", font={"color": "#b02a37"})
