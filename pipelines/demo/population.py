"""The people of the demo department: collèges, ENT accounts, their addresses and browsers, and the spaces.

The accounts are those of the whole département at every scale (the directory, devices and needs
exports draw on them); the scale only says how many of them visit the ENT, how many people without
an account do, and how many collaborative spaces there are. Two random generators keep the two
apart: `people` draws the département, `traffic` what depends on the scale, so the exports of a seed
are the same at every scale.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from pipelines.demo import clients
from pipelines.demo.scale import scaled_count

REFERENCE_FILE = Path(__file__).resolve().parent.parent / "reference" / "colleges_92.csv"
PROFILES = ("eleve", "enseignant", "parent", "personnel", "anonyme", "inconnu")
ELEVE, ENSEIGNANT, PARENT, PERSONNEL, ANONYME, INCONNU = range(6)
# Accounts per pupil of the collège's 2020 headcount.
TEACHERS_PER_PUPIL = 1 / 12.5
PARENTS_PER_PUPIL = 1.3
STAFF_PER_PUPIL = 1 / 60
STAFF_PER_COLLEGE = 3
# Browsers by profile: shares of desktop, phone and tablet.
DEVICE_SHARES = {ELEVE: (0.35, 0.40, 0.25), ENSEIGNANT: (0.75, 0.15, 0.10), PARENT: (0.40, 0.55, 0.05),
                 PERSONNEL: (0.90, 0.10, 0.0)}
IPV6_SHARE = 0.25
# Collaborative spaces of the whole department at seed scale, and those created before the demo starts.
SPACES_AT_SEED = 5_000
SPACES_OLD_SHARE = 0.55
# Share of the older spaces left behind when the lockdown began (last used the weekend before).
SPACES_ABANDONED_SHARE = 0.15
ABANDONED_AFTER_DAY = 13
NEVER = 9_999
ANONYMOUS_AT_SEED = 40_000
MOBILE_EXITS_AT_SEED = 400
# Spaces only the set pieces visit (never drawn at random).
SET_PIECE_SPACES = ("club-theatre", "chorale_2020", "archives-2019", "voyage-londres")


@dataclass(frozen=True)
class Population:
    """Everything the traffic and the exports draw on; user arrays are aligned with `users` rows.

    `visitors` holds, by profile, the rows of the accounts that visit at this scale, and `propensity`
    how often each of them does (shares summing to 1).
    """

    colleges: pl.DataFrame
    college_ip: np.ndarray
    college_agents: np.ndarray
    users: pl.DataFrame
    profile: np.ndarray
    college: np.ndarray
    home_ip: np.ndarray
    agent: np.ndarray
    profile_ranges: tuple[tuple[int, int], ...]
    visitors: tuple[np.ndarray, ...]
    propensity: tuple[np.ndarray, ...]
    anonymous_ip: np.ndarray
    anonymous_agent: np.ndarray
    anonymous_weight: np.ndarray
    mobile_ips: np.ndarray
    client_ips: dict[int, np.ndarray]
    addresses: pl.Series
    agents: pl.DataFrame
    spaces: pl.DataFrame


def read_public_colleges(path: Path = REFERENCE_FILE) -> pl.DataFrame:
    """The public collèges of the real reference file, in file order."""
    frame = pl.read_csv(path, infer_schema=False)
    numbers = {"students": pl.Int64, "students_2020": pl.Int64, "ulis_students_2020": pl.Int64}
    public = frame.filter(pl.col("sector") == "public")
    return public.with_columns(pl.col(name).cast(kind) for name, kind in numbers.items())


def allocate(total: int, weights: np.ndarray) -> np.ndarray:
    """Split a total in proportion to weights, by largest remainders (deterministic, sums exactly)."""
    weights = np.asarray(weights, dtype=float)
    if total <= 0 or weights.sum() <= 0:
        return np.zeros(len(weights), dtype=np.int64)
    exact = weights / weights.sum() * total
    counts = np.floor(exact).astype(np.int64)
    remainder_order = np.argsort(-(exact - counts), kind="stable")
    counts[remainder_order[: total - counts.sum()]] += 1
    return counts


def headcounts(colleges: pl.DataFrame) -> dict[int, np.ndarray]:
    """Accounts per collège and profile (the collège's real 2020 headcount), plus the ULIS pupils (key "ulis")."""
    pupils = colleges["students_2020"].to_numpy().astype(np.int64)
    ulis = colleges["ulis_students_2020"].to_numpy().astype(np.int64)
    staff = pupils * STAFF_PER_PUPIL + STAFF_PER_COLLEGE
    return {
        ELEVE: np.maximum(pupils, ulis),
        ENSEIGNANT: allocate(round(pupils.sum() * TEACHERS_PER_PUPIL), pupils),
        PARENT: allocate(round(pupils.sum() * PARENTS_PER_PUPIL), pupils),
        PERSONNEL: allocate(round(staff.sum()), staff),
        "ulis": ulis,
    }


def make_logins(rng: np.random.Generator, adult: np.ndarray) -> pl.Series:
    """ENT-style logins `prenom.nom`, a number from the second namesake on (`lea.martin2`)."""
    pupil_names, adult_names = pl.Series(clients.PUPIL_FIRST_NAMES), pl.Series(clients.ADULT_FIRST_NAMES)
    count = len(adult)
    first = pl.select(pl.when(pl.lit(pl.Series(adult)))
                      .then(pl.lit(adult_names.gather(rng.integers(0, len(adult_names), count))))
                      .otherwise(pl.lit(pupil_names.gather(rng.integers(0, len(pupil_names), count))))).to_series()
    frame = pl.DataFrame({
        "first": first,
        "last": pl.Series(clients.LAST_NAMES).gather(rng.integers(0, len(clients.LAST_NAMES), count)),
    }).with_columns(base=pl.concat_str("first", pl.lit("."), "last"))
    rank = pl.int_range(pl.len()).over("base") + 1
    suffix = pl.when(rank > 1).then(rank.cast(pl.String)).otherwise(pl.lit(""))
    return frame.select(pl.concat_str("base", suffix).alias("login")).to_series()


def build_users(colleges: pl.DataFrame, counts: dict[int, np.ndarray], rng: np.random.Generator) -> pl.DataFrame:
    """One row per account, sorted by profile then collège: login, profile, college (row of `colleges`), classe."""
    profile_parts, college_parts = [], []
    for profile in (ELEVE, ENSEIGNANT, PARENT, PERSONNEL):
        per_college = counts[profile]
        profile_parts.append(np.full(per_college.sum(), profile, dtype=np.int8))
        college_parts.append(np.repeat(np.arange(len(per_college), dtype=np.int16), per_college))
    profile, college = np.concatenate(profile_parts), np.concatenate(college_parts)
    users = pl.DataFrame({"login": make_logins(rng, profile != ELEVE), "profile": profile, "college": college})
    return users.with_columns(classe=pl.Series(_classes(profile, college, counts["ulis"], rng)))


def _classes(profile: np.ndarray, college: np.ndarray, ulis: np.ndarray, rng: np.random.Generator) -> list[str]:
    """Pupils' classes (`5e B`), the first pupils of a collège with a ULIS in `ULIS`; empty for adults."""
    levels = np.array(["6e", "5e", "4e", "3e"])[rng.integers(0, 4, len(profile))]
    divisions = np.array(list("ABCDE"))[rng.integers(0, 5, len(profile))]
    classes = np.char.add(np.char.add(levels, " "), divisions).astype(object)
    pupils = profile == ELEVE
    first_pupil = np.searchsorted(college[pupils], np.arange(len(ulis)))
    rank = np.arange(pupils.sum()) - first_pupil[college[pupils]]
    pupil_classes = classes[pupils]
    pupil_classes[rank < ulis[college[pupils]]] = "ULIS"
    classes[pupils] = pupil_classes
    classes[~pupils] = ""
    return classes.tolist()


def profile_ranges(profile: np.ndarray) -> tuple[tuple[int, int], ...]:
    """The (start, stop) rows of each account profile in the profile-sorted users."""
    return tuple((int(np.searchsorted(profile, code)), int(np.searchsorted(profile, code, side="right")))
                 for code in (ELEVE, ENSEIGNANT, PARENT, PERSONNEL))


def user_agents_by_profile(profile: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each account's usual browser, drawn by profile among desktop, phone and tablet agents."""
    kinds = [clients.agents_of_kind(kind) for kind in ("desktop", "phone", "tablet")]
    agent = np.zeros(len(profile), dtype=np.int16)
    for code, shares in DEVICE_SHARES.items():
        rows = np.flatnonzero(profile == code)
        kind = rng.choice(3, size=len(rows), p=shares)
        for index, pool in enumerate(kinds):
            chosen = rows[kind == index]
            agent[chosen] = pool[rng.integers(0, len(pool), len(chosen))]
    return agent


def home_addresses(rng: np.random.Generator, count: int) -> pl.Series:
    """Home connections: IPv4 of French ISPs, a quarter IPv6."""
    ipv4 = clients.ipv4_texts(np.array(clients.HOME_IPV4_PREFIXES), rng, count)
    ipv6 = clients.ipv6_texts(rng, count)
    return pl.select(pl.when(pl.lit(pl.Series(rng.random(count) < IPV6_SHARE))).then(ipv6).otherwise(ipv4)).to_series()


def family_homes(users: pl.DataFrame, counts: dict[int, np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """For each account, the row whose home connection it uses: a parent lives with a pupil of its collège."""
    home = np.arange(users.height)
    profile, college = users["profile"].to_numpy(), users["college"].to_numpy()
    pupil_first = np.concatenate([[0], np.cumsum(counts[ELEVE])[:-1]])
    parents = np.flatnonzero(profile == PARENT)
    with_pupils = counts[ELEVE][college[parents]] > 0
    chosen = parents[with_pupils]
    draw = (rng.random(len(chosen)) * counts[ELEVE][college[chosen]]).astype(np.int64)
    home[chosen] = pupil_first[college[chosen]] + draw
    return home


def build_spaces(colleges: pl.DataFrame, teachers: np.ndarray, factor: float, rng: np.random.Generator) -> pl.DataFrame:
    """Collaborative spaces by collège, ordered by creation day (negative: before the demo), the day some were
    abandoned, and their ids; the set pieces' spaces last."""
    per_college = allocate(scaled_count(SPACES_AT_SEED, factor), np.maximum(teachers, 0.1))
    college = np.repeat(np.arange(len(per_college)), per_college)
    lockdown_days = np.arange(14, 35)
    weights = np.exp(-(lockdown_days - 14) / 6.0)
    created = np.where(rng.random(len(college)) < SPACES_OLD_SHARE, -30,
                       rng.choice(lockdown_days, size=len(college), p=weights / weights.sum()))
    left = (created < 0) & (rng.random(len(college)) < SPACES_ABANDONED_SHARE)
    abandoned = np.where(left, ABANDONED_AFTER_DAY, NEVER)
    order = np.lexsort((created, college))
    spaces = pl.DataFrame({"college": college[order].astype(np.int32), "created": created[order].astype(np.int32),
                           "abandoned": abandoned[order].astype(np.int32)})
    codes = (np.arange(spaces.height, dtype=np.int64) * 0x9E3779B1 + 0x5A17) % (1 << 24)
    ids = pl.Series([format(code, "06x") for code in codes.tolist()], dtype=pl.String)
    extra = pl.DataFrame({"college": -1, "created": NEVER, "abandoned": NEVER, "space_id": list(SET_PIECE_SPACES)},
                         schema={**dict.fromkeys(("college", "created", "abandoned"), pl.Int32), "space_id": pl.String})
    return pl.concat([spaces.with_columns(space_id=ids), extra])


def index_addresses(segments: dict[str, pl.Series]) -> tuple[pl.Series, dict[str, np.ndarray]]:
    """One table of distinct addresses, and each segment's addresses as row numbers of it.

    Two accounts that drew the same address share it: the table holds each text once.
    """
    texts = pl.concat(list(segments.values()))
    table = texts.unique(maintain_order=True)
    numbers = pl.DataFrame({"address": table, "number": np.arange(len(table), dtype=np.int32)})
    ids = texts.to_frame("address").join(numbers, on="address", how="left", maintain_order="left")["number"].to_numpy()
    bounds = np.cumsum([0, *(len(segment) for segment in segments.values())])
    return table, {name: ids[bounds[i]: bounds[i + 1]] for i, name in enumerate(segments)}


def client_addresses(rng: np.random.Generator) -> dict[str, pl.Series]:
    """A few addresses per robot, script and scanner, in its operator's range (segment `agent<index>`)."""
    segments = {}
    for index, (agent, kind, _) in enumerate(clients.USER_AGENTS):
        if kind in ("robot", "monitor", "tool", "scanner", "office"):
            prefix = next(octets for name, octets in clients.ROBOT_IPV4_PREFIXES.items() if name in agent)
            segments[f"agent{index}"] = clients.ipv4_texts(np.array([prefix]), rng, 3)
    return segments


def anonymous_visitors(users: pl.DataFrame, n_colleges: int, factor: float, rng: np.random.Generator) -> pl.DataFrame:
    """Visitors who never log in: `home` is a fresh connection (-1), a user's home, or a collège (`college`)."""
    count = scaled_count(ANONYMOUS_AT_SEED, factor, 20)
    where = rng.choice(3, size=count, p=(0.7, 0.2, 0.1))
    desktops_and_phones = np.concatenate([clients.agents_of_kind("desktop"), clients.agents_of_kind("phone")])
    college_agents = clients.agents_of_kind("college")
    return pl.DataFrame({
        "home": np.where(where == 1, rng.integers(0, users.height, count), -1),
        "college": np.where(where == 2, rng.integers(0, n_colleges, count), -1),
        "agent": np.where(where == 2, college_agents[rng.integers(0, len(college_agents), count)],
                          desktops_and_phones[rng.integers(0, len(desktops_and_phones), count)]).astype(np.int16),
        "weight": rng.gamma(0.7, 1.0, count),
    })


def college_addresses(n_colleges: int, rng: np.random.Generator) -> pl.Series:
    """One public address per collège (its shared exit): distinct by construction."""
    first, second = clients.COLLEGE_IPV4_PREFIX
    last = rng.integers(2, 254, n_colleges)
    return pl.Series([f"{first}.{second}.{index}.{host}" for index, host in enumerate(last.tolist())], dtype=pl.String)


def visiting_accounts(ranges: tuple[tuple[int, int], ...], factor: float,
                      rng: np.random.Generator) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
    """By profile, the accounts that visit at this scale (a random share `factor`, all from seed up) and how often."""
    visitors, propensity = [], []
    for start, stop in ranges:
        accounts = np.arange(start, stop, dtype=np.int64)
        if factor < 1 and len(accounts):
            accounts = np.sort(rng.choice(accounts, size=scaled_count(len(accounts), factor), replace=False))
        activity = rng.gamma(0.8, 1.0, len(accounts))
        visitors.append(accounts)
        propensity.append(activity / max(activity.sum(), 1e-12))
    return tuple(visitors), tuple(propensity)


def build_population(factor: float, people: np.random.Generator, traffic: np.random.Generator) -> Population:
    """Draw the département's accounts, addresses and browsers, and at a scale its visitors and spaces."""
    colleges = read_public_colleges()
    counts = headcounts(colleges)
    users = build_users(colleges, counts, people)
    profile = users["profile"].to_numpy()
    agent = user_agents_by_profile(profile, people)
    homes = family_homes(users, counts, people)
    # A third of parents use the family computer, the same browser as their child.
    sharing = (profile == PARENT) & (homes != np.arange(users.height)) & (people.random(users.height) < 0.3)
    agent[sharing] = agent[homes[sharing]]
    anonymous = anonymous_visitors(users, colleges.height, factor, traffic)
    segments = {
        "college": college_addresses(colleges.height, people),
        "user": home_addresses(people, users.height).gather(homes),
        "anonymous": home_addresses(traffic, anonymous.height),
        "mobile": clients.ipv4_texts(np.array(clients.MOBILE_IPV4_PREFIXES), traffic,
                                     scaled_count(MOBILE_EXITS_AT_SEED, factor, 3)),
        **client_addresses(people),
    }
    addresses, ids = index_addresses(segments)
    return _population(colleges, counts, users, agent, anonymous, addresses, ids, factor, (people, traffic))


def _population(colleges: pl.DataFrame, counts: dict, users: pl.DataFrame, agent: np.ndarray,
                anonymous: pl.DataFrame, addresses: pl.Series, ids: dict[str, np.ndarray], factor: float,
                generators: tuple[np.random.Generator, np.random.Generator]) -> Population:
    """Assemble the population from its drawn parts (the people's generator, then the traffic's)."""
    people, traffic = generators
    profile = users["profile"].to_numpy()
    ranges = profile_ranges(profile)
    visitors, propensity = visiting_accounts(ranges, factor, traffic)
    college_agents = clients.agents_of_kind("college")
    anonymous_home = anonymous["home"].to_numpy()
    anonymous_college = anonymous["college"].to_numpy()
    anonymous_ip = np.where(anonymous_home >= 0, ids["user"][np.maximum(anonymous_home, 0)], ids["anonymous"])
    anonymous_ip = np.where(anonymous_college >= 0, ids["college"][np.maximum(anonymous_college, 0)], anonymous_ip)
    return Population(
        colleges=colleges,
        college_ip=ids["college"],
        college_agents=college_agents[people.integers(0, len(college_agents), (colleges.height, 2))],
        users=users,
        profile=profile,
        college=users["college"].to_numpy().astype(np.int64),
        home_ip=ids["user"],
        agent=agent,
        profile_ranges=ranges,
        visitors=visitors,
        propensity=propensity,
        anonymous_ip=anonymous_ip.astype(np.int32),
        anonymous_agent=anonymous["agent"].to_numpy(),
        anonymous_weight=(anonymous["weight"] / anonymous["weight"].sum()).to_numpy(),
        mobile_ips=ids["mobile"],
        client_ips={int(name[5:]): value for name, value in ids.items() if name.startswith("agent")},
        addresses=addresses,
        agents=clients.user_agent_table(),
        spaces=build_spaces(colleges, counts[ENSEIGNANT], factor, traffic),
    )
