"""Hand-placed requests that put every boundary of the metric definitions in the demo, whatever its scale.

The night of the DST change, a pause of exactly 30:00 and one of 30:01, a visit across midnight,
two people on one computer, the edge cases of collaborative space paths, an account missing from
the directory. They are ordinary events: the truth counts them like any other.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from pipelines.demo import clients, paths
from pipelines.demo.days import TIMEZONE, epoch_seconds
from pipelines.demo.population import ELEVE, ENSEIGNANT, INCONNU, PARENT, Population
from pipelines.demo.traffic import GET, HEAD, POST, Events, concat_events, events


def local_ts(day: dt.date, clock: str) -> int:
    """UTC epoch second of a local wall-clock time."""
    return epoch_seconds(dt.datetime.combine(day, dt.time.fromisoformat(clock), TIMEZONE))


def visit_of(population: Population, user: int, day: dt.date, steps: list[tuple], agent: int | None = None) -> Events:
    """Requests of one account from home: (time, template, variable, method, status) per step."""
    return events(
        len(steps),
        ts=np.array([local_ts(day, clock) for clock, *_ in steps]),
        user=user,
        ip=population.home_ip[user],
        agent=population.agent[user] if agent is None else agent,
        template=np.array([paths.INDEX[name] for _, name, *_ in steps]),
        variable=np.array([step[2] if len(step) > 2 else 0 for step in steps]),
        method=np.array([step[3] if len(step) > 3 else GET for step in steps]),
        status=np.array([step[4] if len(step) > 4 else 200 for step in steps]),
        size=9_876,
    )


def set_piece_space(population: Population, space_id: str) -> int:
    """The row of a set piece's collaborative space."""
    return population.spaces["space_id"].to_list().index(space_id)


def set_pieces(population: Population, directory_profile: np.ndarray, day: dt.date) -> Events:
    """The set pieces that happen on a day (some spill past midnight: the day's writer carries them over)."""
    teacher, pupil, parent = (population.profile_ranges[code][0] for code in (ENSEIGNANT, ELEVE, PARENT))
    pieces = {
        dt.date(2020, 3, 10): lambda: shared_computer(population),
        dt.date(2020, 3, 18): lambda: visit_of(population, pupil, day, [
            ("10:00:00", "home"), ("10:30:00", "ct_homework"), ("11:00:01", "res_doc", 4_242)],
            agent=clients.agent_named("Kiosque")),
        dt.date(2020, 3, 24): lambda: space_edges(population, population.profile_ranges[ENSEIGNANT][0] + 1, day),
        dt.date(2020, 3, 25): lambda: visit_of(population, int(np.flatnonzero(directory_profile == INCONNU)[0]), day, [
            ("20:15:00", "home"), ("20:16:30", "mail_inbox")]),
        # 01:58 +0100 to 03:05 +0200 is 7 minutes of real time: one visit; 35 minutes later, a new one.
        dt.date(2020, 3, 29): lambda: visit_of(population, teacher, day, [
            ("01:50:00", "home"), ("01:58:00", "mail_inbox"), ("03:05:00", "ct_homework"), ("03:40:00", "vs_grades")]),
        dt.date(2020, 4, 2): lambda: concat_events([
            visit_of(population, parent, day, [("23:50:00", "home"), ("23:58:00", "vs_grades")]),
            visit_of(population, parent, day + dt.timedelta(days=1), [("00:05:00", "vs_absences")])]),
    }
    return pieces[day]() if day in pieces else events(0)


def shared_computer(population: Population) -> Events:
    """Two people in turn on one school PC, same address and browser: one visitor; a third browser is another."""
    day, ip = dt.date(2020, 3, 10), population.college_ip[0]
    same, other = population.college_agents[0, 0], clients.agents_of_kind("desktop")[0]
    return events(3, ts=np.array([local_ts(day, "14:00:00"), local_ts(day, "14:05:00"), local_ts(day, "14:10:00")]),
                  ip=ip, agent=np.array([same, other, same]), size=7_310,
                  template=np.array([paths.INDEX["news"], paths.INDEX["news"], paths.INDEX["help"]]))


def space_edges(population: Population, user: int, day: dt.date) -> Events:
    """Space paths that count (bare id, id with a query) and those that do not (list, asset, API, 404, HEAD, POST)."""
    theatre, choir, trip, archives = (set_piece_space(population, name) for name in
                                      ("club-theatre", "chorale_2020", "voyage-londres", "archives-2019"))
    return visit_of(population, user, day, [
        ("16:00:00", "space_list"),
        ("16:00:40", "space_bare", theatre),
        ("16:01:30", "space_wall", choir),
        ("16:02:10", "space_banner", trip),
        ("16:02:11", "api_space", trip),
        ("16:03:00", "space_bare", archives, GET, 404),
        ("16:03:30", "space_home", trip, HEAD),
        ("16:04:00", "space_docs", trip, POST, 302),
    ])
