"""One day of requests to the ENT, drawn as event columns (numpy), never line by line.

Visits of accounts and of anonymous visitors become page requests; each page brings its assets,
API calls, notification polls while it stays open, and now and then a form post. Robots, scripts,
scanners and the uptime probe add their own requests.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from pipelines.demo import clients, paths
from pipelines.demo.days import LOCKDOWN, day_index, day_kind, hour_starts_utc, local_midnight_utc
from pipelines.demo.population import ANONYME, ELEVE, ENSEIGNANT, PARENT, PERSONNEL, Population

METHODS = ("GET", "POST", "HEAD")
GET, POST, HEAD = range(3)
NO_REFERER, SEARCH_REFERER = -1, -2
COLUMNS = ("ts", "user", "ip", "agent", "template", "variable", "method", "status", "size", "ref_template",
           "ref_variable")

# Visits per account and day at seed scale, by kind of day: eleve, enseignant, parent, personnel.
VISIT_RATES = {
    "school_weekday": (0.20, 1.10, 0.16, 0.90),
    "school_wednesday": (0.24, 0.90, 0.14, 0.60),
    "school_weekend": (0.10, 0.35, 0.07, 0.05),
    "announcement": (0.40, 2.00, 0.30, 1.20),
    "announcement_weekend": (0.35, 1.60, 0.25, 0.30),
    "lockdown_weekday": (1.50, 3.85, 0.66, 1.30),
    "lockdown_weekend": (0.54, 1.55, 0.24, 0.12),
}
# Visits of people without an account, per day at seed scale.
ANONYMOUS_VISITS = {"school_weekday": 4_000, "school_wednesday": 4_000, "school_weekend": 2_000, "announcement": 9_000,
                    "announcement_weekend": 7_000, "lockdown_weekday": 16_000, "lockdown_weekend": 7_000}
# Mean pages per visit: eleve, enseignant, parent, personnel, anonymous.
PAGES_PER_VISIT = (10.0, 14.0, 5.5, 9.0, 2.0)
LOGIN_FORM_SHARE = 0.2
# Requests per day at seed scale of crawlers, of scripts the robot rule misses, and of vulnerability scanners.
ROBOT_REQUESTS, TOOL_REQUESTS, SCANNER_REQUESTS = 60_000, 4_000, 3_000
PROBE_INTERVAL_SECONDS = 15 * 60
POLL_SECONDS = 150

HOURLY = {
    "pupil_school": (.2, .1, .05, .02, .02, .05, .4, 1.5, 1.5, 1, 1, 1.2, 2, 1.5, 1.2, 1.5, 3, 6, 8, 8, 7, 5, 2.5, .8),
    "pupil_lockdown": (.3, .15, .05, .02, .02, .05, .3, 2, 7, 10, 10, 9, 5, 6, 8.5, 8, 6.5, 5, 4.5, 3.5, 3.5, 2.5, 1.2,
                       .6),
    "teacher_school": (.2, .1, .05, .02, .05, .3, 2, 5, 3, 2, 2, 2, 4, 3, 2, 2, 3, 5, 6, 6, 7, 7, 4, 1),
    "teacher_lockdown": (.3, .1, .05, .02, .05, .3, 2, 7, 10, 10, 9, 7, 5, 6, 7, 7, 6, 5, 4, 4, 5, 5, 3, 1),
    "parent": (.2, .1, .05, .02, .05, .3, 2, 5, 4, 2, 2, 2, 3, 2, 2, 2, 3, 5, 7, 8, 8, 6, 3, 1),
    "staff": (0, 0, 0, 0, 0, .2, 1, 6, 9, 9, 8, 6, 4, 6, 7, 6, 4, 2, .5, .3, .2, .1, 0, 0),
    "weekend": (.5, .2, .1, .05, .05, .1, .3, .8, 2, 4, 5, 5, 4, 4, 5, 5, 5, 5, 5, 5, 5, 4, 2, 1),
}

# Page mixes by profile (template name: weight); a visit's first page is the home page more often than not.
PAGE_MIX = {
    ELEVE: {"home": 4, "mail_inbox": 5, "mail_page": 1, "mail_read": 6, "mail_new": 1, "ct_week": 8, "ct_homework": 8,
            "ct_session": 6, "vs_grades": 4, "vs_absences": 1, "vs_timetable": 3, "vs_report": .3, "res_home": 2,
            "res_book": 4, "res_doc": 5, "space_list": 2, "space_home": 6, "space_bare": 2, "space_docs": 6,
            "space_blog": 3, "space_file": 4, "space_wall": 2, "agenda": 2, "news": .5, "help": .2},
    ENSEIGNANT: {"home": 4, "mail_inbox": 8, "mail_page": 2, "mail_read": 8, "mail_new": 3, "ct_week": 6,
                 "ct_homework": 6, "ct_session": 8, "vs_grades": 5, "vs_absences": 3, "vs_timetable": 2,
                 "res_home": 2, "res_book": 3, "res_doc": 4, "space_list": 2, "space_home": 6, "space_bare": 2,
                 "space_docs": 7, "space_blog": 3, "space_file": 4, "space_wall": 3, "agenda": 2, "directory": 1},
    PARENT: {"home": 8, "mail_inbox": 6, "mail_page": 1, "mail_read": 6, "ct_homework": 8, "ct_week": 6, "vs_grades": 8,
             "vs_absences": 4, "vs_timetable": 4, "vs_report": 1, "news": 2, "news_item": 1, "agenda": 2, "help": .5},
    PERSONNEL: {"home": 6, "mail_inbox": 8, "mail_read": 6, "mail_new": 2, "vs_absences": 10, "vs_grades": 4,
                "directory": 4, "agenda": 3, "res_home": 1, "news": 1},
    ANONYME: {"home": 10, "news": 6, "news_item": 8, "help": 3, "help_login": 3, "legal": 1, "login_page": 4},
}
ROBOT_MIX = {"home": 3, "news": 2, "news_item": 6, "help": 1, "legal": 1, "robots_txt": 1, "sitemap": 1,
             "login_page": 1}
TOOL_MIX = {"home": 2, "news_item": 3, "res_doc": 4, "robots_txt": 1}
SCANNER_MIX = {"wp_login": 3, "dotenv": 2, "phpmyadmin": 2, "xmlrpc": 1}


@dataclass(frozen=True)
class DayPlan:
    """What shapes one day: its date and kind, its local hours in UTC, the scale, who has a lent device since when."""

    day: dt.date
    kind: str
    hour_starts: np.ndarray
    midnight: int
    factor: float
    device_since: np.ndarray
    device_agent: np.ndarray


def plan_day(day: dt.date, factor: float, device_since: np.ndarray, device_agent: np.ndarray) -> DayPlan:
    """The plan of one demo day."""
    return DayPlan(day, day_kind(day), hour_starts_utc(day), local_midnight_utc(day), factor, device_since,
                   device_agent)


def mix(weights: dict[str, float]) -> tuple[np.ndarray, np.ndarray]:
    """Template indices and their probabilities from a name: weight mix."""
    indices = np.array([paths.INDEX[name] for name in weights])
    chances = np.array(list(weights.values()), dtype=float)
    return indices, chances / chances.sum()


def hours_shape(profile: int, kind: str) -> str:
    """Which hourly rhythm a profile follows on a kind of day."""
    if kind.endswith("weekend"):
        return "weekend"
    lockdown = kind.startswith("lockdown")
    return {ELEVE: "pupil_lockdown" if lockdown else "pupil_school",
            ENSEIGNANT: "teacher_lockdown" if lockdown else "teacher_school",
            PARENT: "parent", PERSONNEL: "staff", ANONYME: "parent"}[profile]


def draw_starts(plan: DayPlan, shape: str, count: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Start instants (UTC seconds) and local hours of visits following an hourly rhythm; none in a skipped hour."""
    weights = np.array(HOURLY[shape], dtype=float) * (plan.hour_starts >= 0)
    hours = rng.choice(24, size=count, p=weights / weights.sum())
    # A visit starts at least 90 s after midnight, so its login form stays on the same day.
    seconds = rng.integers(0, 3600, count)
    seconds = np.where(hours == 0, np.maximum(seconds, 90), seconds)
    return plan.hour_starts[hours] + seconds, hours


@dataclass(frozen=True)
class Visits:
    """Visits as drawn (before the contract's 30-minute rule): who, from where, with what, starting when."""

    user: np.ndarray
    profile: np.ndarray
    college: np.ndarray
    ip: np.ndarray
    agent: np.ndarray
    start: np.ndarray


# A day's requests as aligned columns: UTC second, account row (-1: no login), address row, browser row,
# path template and its variable, method, status, body size (-1: "-"), and the referring page's template.
Events = dict[str, np.ndarray]
EVENT_TYPES = {"ts": np.int64, "user": np.int64, "ip": np.int32, "agent": np.int16, "template": np.int16,
               "variable": np.int32, "method": np.int8, "status": np.int16, "size": np.int64,
               "ref_template": np.int16, "ref_variable": np.int32}
EVENT_DEFAULTS = {"ts": 0, "ip": 0, "agent": 0, "template": 0, "user": -1, "variable": 0, "method": GET, "status": 200,
                  "size": -1, "ref_template": NO_REFERER, "ref_variable": 0}


def events(count: int, **columns: np.ndarray | int) -> Events:
    """Event columns of `count` rows; unspecified ones get their usual value (anonymous GET 200, no referer)."""
    merged = EVENT_DEFAULTS | columns
    return {name: np.broadcast_to(np.asarray(merged[name]), count).astype(EVENT_TYPES[name]) for name in COLUMNS}


def concat_events(parts: list[Events]) -> Events:
    """Rows of several event tables, in order."""
    return {name: np.concatenate([part[name] for part in parts]) for name in COLUMNS}


def following(parents: Events, rows: np.ndarray, **columns: np.ndarray | int) -> Events:
    """Requests a page brings (assets, API calls, posts): same client, the page as referer."""
    inherited = {name: parents[name][rows] for name in ("user", "ip", "agent")}
    referer = {"ref_template": parents["template"][rows], "ref_variable": parents["variable"][rows]}
    return events(len(rows), **(inherited | referer | columns))


def account_visits(population: Population, plan: DayPlan, rng: np.random.Generator) -> Visits:
    """The day's visits of ENT accounts, by profile: the département's rate times the scale, among the visitors."""
    users, profiles, starts, hours = [], [], [], []
    # The first lockdown week, everyone logged in a little more often.
    boost = 1.1 if plan.kind == "lockdown_weekday" and (plan.day - LOCKDOWN).days < 5 else 1.0
    for code, (first, stop) in enumerate(population.profile_ranges):
        visitors = population.visitors[code]
        mean = VISIT_RATES[plan.kind][code] * (stop - first) * plan.factor * boost
        count = rng.poisson(mean) if len(visitors) else 0
        users.append(rng.choice(visitors, size=count, p=population.propensity[code]) if count else [])
        start, hour = draw_starts(plan, hours_shape(code, plan.kind), count, rng)
        profiles.append(np.full(count, code, dtype=np.int8))
        starts.append(start)
        hours.append(hour)
    user, hour = np.concatenate(users).astype(np.int64), np.concatenate(hours)
    ip, agent = where_from(population, plan, user, hour, rng)
    return Visits(user, np.concatenate(profiles), population.college[user], ip, agent, np.concatenate(starts))


def where_from(population: Population, plan: DayPlan, user: np.ndarray, hour: np.ndarray,
               rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Address and browser of each account visit: home, a lent device, a phone on the move, or the collège's PCs."""
    ip, agent = population.home_ip[user].copy(), population.agent[user].copy()
    lent = (plan.device_since[user] <= day_index(plan.day)) & (rng.random(len(user)) < 0.7)
    agent[lent] = plan.device_agent[user[lent]]
    moving = np.isin(agent, clients.agents_of_kind("phone")) & (rng.random(len(user)) < 0.5)
    ip[moving] = population.mobile_ips[rng.integers(0, len(population.mobile_ips), moving.sum())]
    # Before the lockdown, pupils and staff at school share their collège's address and its PCs' browser.
    school_hours = 12 if plan.kind == "school_wednesday" else 17
    school_day = plan.kind in ("school_weekday", "school_wednesday", "announcement")
    at_school = (school_day & (population.profile[user] != PARENT) & (hour >= 8) & (hour < school_hours)
                 & (rng.random(len(user)) < 0.85))
    college = population.college[user[at_school]]
    ip[at_school] = population.college_ip[college]
    agent[at_school] = population.college_agents[college, user[at_school] % 2]
    return ip, agent


def anonymous_visits(population: Population, plan: DayPlan, rng: np.random.Generator) -> Visits:
    """The day's visits of people without an account (public pages, news, help)."""
    count = rng.poisson(ANONYMOUS_VISITS[plan.kind] * plan.factor)
    who = rng.choice(len(population.anonymous_weight), size=count, p=population.anonymous_weight)
    start, _ = draw_starts(plan, hours_shape(ANONYME, plan.kind), count, rng)
    nobody = np.full(count, -1, dtype=np.int64)
    return Visits(nobody, np.full(count, ANONYME, dtype=np.int8), nobody, population.anonymous_ip[who],
                  population.anonymous_agent[who], start)


def merge_visits(parts: list[Visits]) -> Visits:
    """Visits of several kinds, in order."""
    return Visits(*(np.concatenate([getattr(part, name) for part in parts])
                    for name in ("user", "profile", "college", "ip", "agent", "start")))


@dataclass(frozen=True)
class Pages:
    """Page requests of the day's visits, with each page's place in its visit and the time until the next."""

    events: Events
    first: np.ndarray
    last: np.ndarray
    gap_to_next: np.ndarray


def page_requests(population: Population, plan: DayPlan, visits: Visits, rng: np.random.Generator) -> Pages:
    """The pages of each visit: a template by profile, a variable, a status; pauses drawn log-normally."""
    counts = np.minimum(rng.geometric(1 / np.array(PAGES_PER_VISIT)[visits.profile]), 60)
    visit = np.repeat(np.arange(len(counts)), counts)
    first_row = np.cumsum(counts) - counts
    position = np.arange(counts.sum()) - first_row[visit]
    # Pauses: a median of 35 s, a long tail capped at exactly 30:00 (the contract keeps that in the visit).
    gaps = np.clip(np.rint(rng.lognormal(np.log(35), 1.1, len(visit))), 1, 1800).astype(np.int64)
    gaps[position == 0] = 0
    elapsed = np.cumsum(gaps)
    ts = visits.start[visit] + elapsed - elapsed[first_row[visit]]
    template = choose_pages(visits.profile[visit], position, rng)
    template, variable = page_variables(population, plan, template, visits.college[visit], rng)
    status, size = page_statuses(plan, template, ts, rng)
    previous = np.maximum(np.arange(len(visit)) - 1, 0)
    search = rng.random(len(visit)) < 0.05
    ref_template = np.where(position > 0, template[previous], np.where(search, SEARCH_REFERER, NO_REFERER))
    page_events = events(len(visit), ts=ts, user=visits.user[visit], ip=visits.ip[visit], agent=visits.agent[visit],
                         template=template, variable=variable, status=status, size=size,
                         ref_template=ref_template, ref_variable=np.where(position > 0, variable[previous], 0))
    last = position == counts[visit] - 1
    gap_to_next = np.where(last, 0, np.append(gaps[1:], 0))
    return Pages(page_events, position == 0, last, gap_to_next)


def choose_pages(profile: np.ndarray, position: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A page template per request from its profile's mix; the first page is the home page 60% of the time."""
    template = np.zeros(len(profile), dtype=np.int16)
    for code, weights in PAGE_MIX.items():
        rows = np.flatnonzero(profile == code)
        indices, chances = mix(weights)
        template[rows] = indices[rng.choice(len(indices), size=len(rows), p=chances)]
    template[(position == 0) & (rng.random(len(profile)) < 0.6)] = paths.INDEX["home"]
    return template


def page_variables(population: Population, plan: DayPlan, template: np.ndarray, college: np.ndarray,
                   rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Each request's number, week or space; a space page of a collège without spaces yet becomes homework."""
    kind = paths.VARIABLE[template]
    variable = (1 + rng.random(len(template)) * paths.LARGEST[template]).astype(np.int32)
    week = plan.day.isocalendar().week
    variable[kind == 2] = week + rng.integers(-1, 2, (kind == 2).sum())
    space_rows = np.flatnonzero(kind == 3)
    space = draw_spaces(population, plan, college[space_rows], rng)
    template = template.copy()
    template[space_rows[space == -1]] = paths.INDEX["ct_homework"]
    template[space_rows[space == -2]] = paths.INDEX["space_list"]
    variable[space_rows] = np.maximum(space, 0)
    variable[paths.VARIABLE[template] == 0] = 0
    return template, variable


def draw_spaces(population: Population, plan: DayPlan, college: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A space of the visitor's collège created by that day, older ones busier (-1: none yet, -2: one abandoned)."""
    spaces = population.spaces
    pool = spaces["college"].to_numpy() >= 0
    space_college = spaces["college"].to_numpy()[pool]
    today = day_index(plan.day)
    n_colleges = population.colleges.height
    available = np.bincount(space_college[spaces["created"].to_numpy()[pool] <= today], minlength=n_colleges)
    first = np.searchsorted(space_college, np.arange(n_colleges))
    known = np.maximum(college, 0)
    count = np.where(college >= 0, available[known], 0)
    space = first[known] + np.floor(count * rng.random(len(college)) ** 1.8).astype(np.int64)
    abandoned = spaces["abandoned"].to_numpy()[np.minimum(space, len(space_college) - 1)] < today
    return np.where(count > 0, np.where(abandoned, -2, space), -1)


def page_statuses(plan: DayPlan, template: np.ndarray, ts: np.ndarray,
                  rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Mostly 200, some 304 (revalidated), 302 (session expired), 404, 500; 503s on the first lockdown mornings."""
    draw = rng.random(len(template))
    status = np.select([draw < 0.04, draw < 0.05, draw < 0.054, draw < 0.055], [304, 302, 404, 500], 200)
    if plan.day in (LOCKDOWN, LOCKDOWN + dt.timedelta(days=1)):
        morning = (ts >= plan.hour_starts[8]) & (ts < plan.hour_starts[12])
        status = np.where(morning & (status == 200) & (rng.random(len(template)) < 0.08), 503, status)
    size = np.rint(rng.lognormal(9.4, 0.6, len(template))).astype(np.int64)
    size = np.select([status == 304, status == 302, status == 404, status >= 500], [-1, 154, 555, 197], size)
    return status.astype(np.int16), size


def login_forms(visits: Visits, rng: np.random.Generator) -> Events:
    """A fifth of account visits start at the login form: an anonymous GET of the form, then its POST (302)."""
    rows = np.flatnonzero((visits.user >= 0) & (rng.random(len(visits.user)) < LOGIN_FORM_SHARE))
    shown = visits.start[rows] - 40 - rng.integers(0, 20, len(rows))
    posted = visits.start[rows] - rng.integers(2, 10, len(rows))
    client = {"ip": visits.ip[rows], "agent": visits.agent[rows]}
    form = events(len(rows), ts=shown, template=paths.INDEX["login_page"], size=8_127, **client)
    post = events(len(rows), ts=posted, template=paths.INDEX["login_post"], method=POST, status=302, size=0,
                  ref_template=paths.INDEX["login_page"], **client)
    return concat_events([form, post])


def page_assets(pages: Pages, rng: np.random.Generator) -> Events:
    """Static files: the bundle files not cached yet with a visit's first page, now and then an image later."""
    page = pages.events
    loaded = np.isin(page["status"], (200, 304))
    counts = np.where(pages.first, len(paths.FIRST_PAGE_ASSETS), rng.random(len(loaded)) < 0.2) * loaded
    rows = np.repeat(np.arange(len(loaded)), counts)
    nth = np.arange(len(rows)) - (np.cumsum(counts) - counts)[rows]
    fetched = ~pages.first[rows] | (rng.random(len(rows)) < 0.4)
    rows, nth = rows[fetched], nth[fetched]
    on_space = paths.VARIABLE[page["template"][rows]] == 3
    image = np.where(rng.random(len(rows)) < 0.7, paths.INDEX["avatar"], paths.INDEX["icon"])
    later = np.where(on_space, paths.INDEX["space_banner"], image)
    bundle = paths.FIRST_PAGE_ASSETS[np.minimum(nth, len(paths.FIRST_PAGE_ASSETS) - 1)]
    template = np.where(pages.first[rows], bundle, later)
    numbered = (1 + rng.random(len(rows)) * paths.LARGEST[template]).astype(np.int32)
    variable = np.where(on_space, page["variable"][rows], numbered) * (paths.VARIABLE[template] > 0)
    status = np.where(rng.random(len(rows)) < 0.5, 304, 200)
    size = np.where(status == 304, -1, 1_000 + (template.astype(np.int64) * 7_919) % 90_000)
    return following(page, rows, ts=page["ts"][rows] + (nth >= 3), template=template, variable=variable,
                     status=status, size=size)


def api_calls(pages: Pages, rng: np.random.Generator) -> Events:
    """Calls a page makes to /api/ once loaded, and the notification poll every 150 s while it stays open."""
    page = pages.events
    loaded = page["status"] == 200
    calls = np.flatnonzero(loaded & (rng.random(len(loaded)) < 0.3))
    on_space = paths.VARIABLE[page["template"][calls]] == 3
    template = np.where(on_space, paths.INDEX["api_space"], paths.API_AFTER_PAGE[rng.integers(0, 3, len(calls))])
    after_load = following(page, calls, ts=page["ts"][calls] + 1, template=template,
                           variable=np.where(on_space, page["variable"][calls], 0),
                           size=rng.integers(20, 400, len(calls)))
    open_for = np.where(pages.last, rng.integers(0, 3, len(loaded)) * POLL_SECONDS, pages.gap_to_next - 1) * loaded
    polls = open_for // POLL_SECONDS
    rows = np.repeat(np.arange(len(loaded)), polls)
    nth = np.arange(len(rows)) - (np.cumsum(polls) - polls)[rows] + 1
    poll = following(page, rows, ts=page["ts"][rows] + POLL_SECONDS * nth, template=paths.INDEX["api_poll"],
                     size=rng.integers(10, 40, len(rows)))
    return concat_events([after_load, poll])


def form_posts(pages: Pages, rng: np.random.Generator) -> Events:
    """Messages sent (POST, 302), homework handed in (POST, 200), and Office probing documents (HEAD)."""
    page = pages.events
    template, draw = page["template"], rng.random(len(page["template"]))
    sends = np.flatnonzero((template == paths.INDEX["mail_new"]) & (draw < 0.5))
    hands_in = np.flatnonzero((template == paths.INDEX["ct_homework"]) & (page["user"] >= 0) & (draw < 0.1))
    probes = np.flatnonzero((template == paths.INDEX["res_doc"]) & (draw < 0.03))
    return concat_events([
        following(page, sends, ts=page["ts"][sends] + rng.integers(20, 120, len(sends)),
                  template=paths.INDEX["mail_send"], method=POST, status=302, size=0),
        following(page, hands_in, ts=page["ts"][hands_in] + rng.integers(30, 300, len(hands_in)),
                  template=paths.INDEX["ct_submit"], variable=rng.integers(1, 200_000, len(hands_in)), method=POST,
                  size=412),
        following(page, probes, ts=page["ts"][probes] + 2, user=-1, agent=clients.agent_named("Office Existence"),
                  template=paths.INDEX["office_doc"], variable=page["variable"][probes], method=HEAD,
                  ref_template=NO_REFERER),
    ])


def crawler_requests(population: Population, plan: DayPlan, kind: str, per_day: int, weights: dict[str, float],
                     rng: np.random.Generator) -> Events:
    """Requests of robots, scripts or scanners (a user-agent kind) spread over the day, from their own ranges."""
    day_length = int(plan.hour_starts[23]) + 3600 - plan.midnight
    count = rng.poisson(per_day * plan.factor)
    agents = clients.agents_of_kind(kind)
    pick = rng.integers(0, len(agents), count)
    addresses = np.stack([population.client_ips[int(agent)] for agent in agents])
    indices, chances = mix(weights)
    template = indices[rng.choice(len(indices), size=count, p=chances)]
    status = np.where((kind == "scanner") | (rng.random(count) < 0.05), 404, 200)
    return events(count, ts=plan.midnight + rng.integers(0, day_length, count), agent=agents[pick],
                  ip=addresses[pick, rng.integers(0, addresses.shape[1], count)], template=template,
                  variable=(1 + rng.random(count) * paths.LARGEST[template]).astype(np.int32),
                  method=np.where(template == paths.INDEX["xmlrpc"], POST, GET), status=status,
                  size=np.where(status == 200, rng.integers(3_000, 40_000, count), 555))


def other_clients(population: Population, plan: DayPlan, rng: np.random.Generator) -> Events:
    """Crawlers, scripts the robot rule misses, vulnerability scanners, and the uptime probe every 15 minutes."""
    crawlers = [crawler_requests(population, plan, kind, per_day, weights, rng) for kind, per_day, weights in
                (("robot", ROBOT_REQUESTS, ROBOT_MIX), ("tool", TOOL_REQUESTS, TOOL_MIX),
                 ("scanner", SCANNER_REQUESTS, SCANNER_MIX))]
    probe = clients.agent_named("UptimeRobot")
    ticks = np.arange(plan.midnight, int(plan.hour_starts[23]) + 3600, PROBE_INTERVAL_SECONDS)
    return concat_events([*crawlers, events(len(ticks), ts=ticks, ip=population.client_ips[probe][0], agent=probe,
                                            template=paths.INDEX["home"], size=12_408)])
