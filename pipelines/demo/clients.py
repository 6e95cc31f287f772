"""Who talks to the ENT: user agents of spring 2020, address ranges, and the names logins are made of."""

from __future__ import annotations

import re

import numpy as np
import polars as pl

# The contract's robot rule, used to tell which generated lines are page views.
ROBOT_PATTERN = re.compile(r"bot|crawl|spider|slurp", re.IGNORECASE)

# (user agent, kind, protocol); kinds drive who uses which browser.
USER_AGENTS = (
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/80.0.3987.149 Safari/537.36", "desktop", "HTTP/2.0"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:74.0) Gecko/20100101 Firefox/74.0", "desktop", "HTTP/2.0"),
    ("Mozilla/5.0 (Windows NT 6.1; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/80.0.3987.132 Safari/537.36", "desktop", "HTTP/2.0"),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_3) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.0.5 Safari/605.1.15", "desktop", "HTTP/2.0"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/70.0.3538.102 Safari/537.36 Edge/18.18363", "desktop", "HTTP/1.1"),
    ("Mozilla/5.0 (X11; Linux x86_64; rv:68.0) Gecko/20100101 Firefox/68.0", "desktop", "HTTP/1.1"),
    ("Mozilla/5.0 (X11; CrOS x86_64 12871.102.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/80.0.3987.162 Safari/537.36", "desktop", "HTTP/2.0"),
    ("Mozilla/5.0 (Linux; Android 9; SM-A505FN) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/80.0.3987.119 Mobile Safari/537.36", "phone", "HTTP/2.0"),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 13_3_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.0.5 Mobile/15E148 Safari/604.1", "phone", "HTTP/2.0"),
    ("Mozilla/5.0 (Linux; Android 10; SM-G973F) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/80.0.3987.149 Mobile Safari/537.36", "phone", "HTTP/2.0"),
    ("Mozilla/5.0 (Linux; Android 8.1.0; Redmi 5 Plus) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/80.0.3987.99 Mobile Safari/537.36", "phone", "HTTP/2.0"),
    ("Mozilla/5.0 (Linux; Android 9; ANE-LX1) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/80.0.3987.149 Mobile Safari/537.36", "phone", "HTTP/2.0"),
    ("Mozilla/5.0 (iPad; CPU OS 13_3_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.0.5 Mobile/15E148 Safari/604.1", "tablet", "HTTP/2.0"),
    ("Mozilla/5.0 (Linux; Android 9; SM-T510) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/80.0.3987.149 Safari/537.36", "tablet", "HTTP/2.0"),
    # The managed browser of the lent tablets puts quotes in its name: nginx writes them \x22.
    ("Mozilla/5.0 (Linux; Android 9; SM-T515) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/80.0.3987.149 Safari/537.36 Kiosque/2.1 (\\x22CD92 Tablette\\x22)", "lent_tablette", "HTTP/2.0"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/80.0.3987.149 Safari/537.36 Edg/80.0.361.69", "lent_ultraportable", "HTTP/2.0"),
    ("Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:74.0) Gecko/20100101 Firefox/74.0", "lent_pc_recycle", "HTTP/1.1"),
    # Collèges' computers all run the same image, so their pupils look alike.
    ("Mozilla/5.0 (Windows NT 6.1; Win64; x64; rv:68.0) Gecko/20100101 Firefox/68.0", "college", "HTTP/1.1"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:68.0) Gecko/20100101 Firefox/68.0", "college", "HTTP/1.1"),
    ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "robot", "HTTP/1.1"),
    ("Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", "robot", "HTTP/1.1"),
    ("Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)", "robot", "HTTP/1.1"),
    ("Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)", "robot", "HTTP/1.1"),
    ("Mozilla/5.0 (compatible; Yahoo! Slurp; http://help.yahoo.com/help/us/ysearch/slurp)", "robot", "HTTP/1.1"),
    ("Mozilla/5.0 (compatible; AhrefsBot/6.1; +http://ahrefs.com/robot/)", "robot", "HTTP/1.1"),
    ("Mozilla/5.0 (compatible; SemrushBot/6~bl; +http://www.semrush.com/bot.html)", "robot", "HTTP/1.1"),
    ("Screaming Frog SEO Spider/12.6", "robot", "HTTP/1.1"),
    ("Mozilla/5.0+(compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)", "monitor", "HTTP/1.1"),
    # Crawlers and scripts that the robot rule does not catch: their pages count as page views.
    ("Mozilla/5.0 (compatible; Qwantify/2.4w; +https://www.qwant.com/)/2.4w", "tool", "HTTP/1.1"),
    ("facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)", "tool", "HTTP/1.1"),
    ("python-requests/2.23.0", "tool", "HTTP/1.1"),
    ("curl/7.58.0", "tool", "HTTP/1.1"),
    ("Microsoft Office Existence Discovery", "office", "HTTP/1.1"),
    ("Mozilla/5.0 zgrab/0.x", "scanner", "HTTP/1.1"),
)

# Home connections of French ISPs (first two octets, as a /16 each) and mobile carriers' shared exits.
HOME_IPV4_PREFIXES = ((90, 3), (90, 91), (86, 246), (92, 184), (78, 193), (82, 64), (88, 168), (176, 134),
                      (109, 190), (93, 22))
MOBILE_IPV4_PREFIXES = ((37, 170), (37, 171), (80, 215), (176, 143), (92, 184))
HOME_IPV6_PREFIXES = ("2a01:e0a", "2a01:cb00", "2a01:cb19", "2a02:8428", "2001:861")
COLLEGE_IPV4_PREFIX = (195, 83)
# Crawler ranges by robot name, scanners and scripts from hosting providers.
ROBOT_IPV4_PREFIXES = {"Googlebot": (66, 249), "bingbot": (157, 55), "YandexBot": (5, 255), "Baiduspider": (180, 76),
                       "Slurp": (72, 30), "AhrefsBot": (54, 36), "SemrushBot": (46, 229), "Screaming": (81, 65),
                       "UptimeRobot": (216, 144), "Qwantify": (194, 187), "facebookexternalhit": (173, 252),
                       "python-requests": (51, 15), "curl": (163, 172), "Office": (90, 3), "zgrab": (45, 146)}

# Common first names of pupils born around 2008 and of their parents' and teachers' generation.
PUPIL_FIRST_NAMES = (
    "lucas", "hugo", "louis", "nathan", "gabriel", "jules", "arthur", "adam", "raphael", "enzo", "mathis", "tom",
    "theo", "noah", "ethan", "mael", "sacha", "nolan", "timeo", "yanis", "rayan", "mohamed", "ilyes", "leo",
    "emma", "jade", "louise", "alice", "chloe", "lina", "lea", "manon", "rose", "anna", "ines", "camille", "lola",
    "sarah", "ambre", "julia", "zoe", "juliette", "lena", "eva", "nina", "clara", "romane", "yasmine", "maryam",
)
ADULT_FIRST_NAMES = (
    "nathalie", "isabelle", "sylvie", "catherine", "christophe", "stephane", "david", "olivier", "sandrine",
    "laurent", "frederic", "valerie", "sebastien", "karine", "nicolas", "celine", "fatima", "samir", "aicha",
    "julien", "aurelie", "emilie", "thomas", "caroline", "vincent", "delphine", "karim", "nadia", "sophie",
)
LAST_NAMES = (
    "martin", "bernard", "thomas", "petit", "robert", "richard", "durand", "dubois", "moreau", "laurent", "simon",
    "michel", "lefebvre", "leroy", "roux", "david", "bertrand", "morel", "fournier", "girard", "bonnet", "dupont",
    "lambert", "fontaine", "rousseau", "vincent", "muller", "lefevre", "faure", "andre", "mercier", "blanc",
    "guerin", "boyer", "garnier", "chevalier", "francois", "legrand", "gauthier", "garcia", "perrin", "robin",
    "clement", "morin", "nicolas", "henry", "roussel", "mathieu", "gautier", "masson", "marchand", "duval",
    "denis", "dumont", "marie", "lemaire", "noel", "meyer", "dufour", "meunier", "brun", "blanchard", "giraud",
    "joly", "riviere", "lucas", "brunet", "gaillard", "barbier", "arnaud", "martinez", "gerard", "roche",
    "renard", "schmitt", "roy", "leroux", "colin", "vidal", "caron", "picard", "roger", "fabre", "aubert",
    "lemoine", "renaud", "dumas", "lacroix", "olivier", "philippe", "bourgeois", "pierre", "benoit", "rey",
    "diallo", "traore", "nguyen", "benali", "haddad", "cisse", "ferreira", "dasilva", "kone", "bensaid",
)


def user_agent_table() -> pl.DataFrame:
    """The user agents with their kind, HTTP protocol and whether the contract counts them as robots."""
    frame = pl.DataFrame(USER_AGENTS, schema=["user_agent", "kind", "protocol"], orient="row")
    return frame.with_columns(is_robot=pl.col("user_agent").str.contains(f"(?i){ROBOT_PATTERN.pattern}"))


def agents_of_kind(kind: str) -> np.ndarray:
    """Indices of the user agents of one kind."""
    return np.array([index for index, (_, agent_kind, _) in enumerate(USER_AGENTS) if agent_kind == kind])


def agent_named(fragment: str) -> int:
    """Index of the first user agent containing a fragment."""
    return next(index for index, (agent, _, _) in enumerate(USER_AGENTS) if fragment in agent)


def ipv4_texts(prefixes: np.ndarray, rng: np.random.Generator, count: int) -> pl.Series:
    """Random IPv4 addresses under /16 prefixes (rows of two octets), as text."""
    chosen = prefixes[rng.integers(0, len(prefixes), count)]
    hosts = rng.integers(1, 65_534, count)
    frame = pl.DataFrame({"a": chosen[:, 0], "b": chosen[:, 1], "c": hosts // 256, "d": hosts % 256})
    return frame.select(pl.concat_str([pl.col(name).cast(pl.String) for name in "abcd"], separator=".")).to_series()


def ipv6_texts(rng: np.random.Generator, count: int) -> pl.Series:
    """Random home IPv6 addresses of French ISPs, written in full (8 groups, no leading zeros)."""
    prefixes = pl.Series(HOME_IPV6_PREFIXES).gather(rng.integers(0, len(HOME_IPV6_PREFIXES), count))
    groups = rng.integers(0, 65_536, (count, 6))
    frame = pl.DataFrame({f"g{i}": groups[:, i] for i in range(6)}).with_columns(prefix=prefixes)
    hex_groups = [pl.lit(HEX_GROUPS).gather(pl.col(f"g{i}")) for i in range(6)]
    return frame.select(pl.concat_str([pl.col("prefix"), *hex_groups], separator=":")).to_series()


# Every 16-bit group as IPv6 writes it (lowercase hex, no leading zeros).
HEX_GROUPS = pl.Series([format(value, "x") for value in range(65_536)], dtype=pl.String)
