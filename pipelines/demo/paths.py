"""The ENT's URLs: path templates of its services, assets and API, and what the contract makes of each.

A request's path is `prefix + variable + suffix`, the variable being nothing, a number, a week or
a collaborative space id. Whether a template's requests can be page views, and whether they name a
space, follows from the contract's rules applied to the template itself.
"""

from __future__ import annotations

import re

import numpy as np
import polars as pl

HOST = "https://enc.hauts-de-seine.fr"
ASSET_EXTENSIONS = ("css", "js", "mjs", "map", "png", "jpg", "jpeg", "gif", "svg", "ico", "webp", "woff", "woff2",
                    "ttf", "eot", "otf")
SPACE_PATH = re.compile(r"^/espaces/([A-Za-z0-9_-]+)(/|$)")

# name, prefix, variable (none, number, week, space), suffix, largest number
TEMPLATES = (
    ("home", "/", "none", "", 0),
    ("login_page", "/auth/login", "none", "?service=%2F", 0),
    ("login_post", "/auth/login", "none", "", 0),
    ("mail_inbox", "/messagerie/inbox", "none", "", 0),
    ("mail_page", "/messagerie/inbox?page=", "number", "", 6),
    ("mail_read", "/messagerie/message/", "number", "", 900_000),
    ("mail_new", "/messagerie/nouveau", "none", "", 0),
    ("mail_send", "/messagerie/envoyer", "none", "", 0),
    ("ct_week", "/cahier-de-textes/semaine/", "week", "", 0),
    ("ct_homework", "/cahier-de-textes/devoirs", "none", "", 0),
    ("ct_session", "/cahier-de-textes/seance/", "number", "", 500_000),
    ("ct_submit", "/cahier-de-textes/devoirs/", "number", "/rendu", 200_000),
    ("vs_grades", "/vie-scolaire/notes", "none", "", 0),
    ("vs_absences", "/vie-scolaire/absences", "none", "", 0),
    ("vs_timetable", "/vie-scolaire/emploi-du-temps?semaine=", "week", "", 0),
    ("vs_report", "/vie-scolaire/bulletins/", "number", "-t2.pdf", 70_000),
    ("res_home", "/ressources/", "none", "", 0),
    ("res_book", "/ressources/manuels/", "number", "", 400),
    ("res_doc", "/ressources/documents/", "number", ".pdf", 60_000),
    ("space_list", "/espaces/", "none", "", 0),
    ("space_home", "/espaces/", "space", "/", 0),
    ("space_bare", "/espaces/", "space", "", 0),
    ("space_docs", "/espaces/", "space", "/documents", 0),
    ("space_blog", "/espaces/", "space", "/blog?page=2", 0),
    ("space_file", "/espaces/", "space", "/documents/consignes.pdf", 0),
    ("space_wall", "/espaces/", "space", "?onglet=mur", 0),
    ("agenda", "/agenda", "none", "", 0),
    ("directory", "/annuaire/etablissement", "none", "", 0),
    ("news", "/actualites", "none", "", 0),
    ("news_item", "/actualites/", "number", "-continuite-pedagogique", 300),
    ("help", "/aide", "none", "", 0),
    ("help_login", "/aide/connexion", "none", "", 0),
    ("legal", "/mentions-legales", "none", "", 0),
    ("robots_txt", "/robots.txt", "none", "", 0),
    ("sitemap", "/sitemap.xml", "none", "", 0),
    ("css_app", "/static/css/app.3f2a9c.css", "none", "", 0),
    ("js_vendor", "/static/js/vendor.81d2e0.js", "none", "", 0),
    ("js_app", "/static/js/app.c4b7f1.js", "none", "", 0),
    ("font", "/static/fonts/marianne-regular.woff2", "none", "", 0),
    ("logo", "/static/img/logo-cd92.svg", "none", "", 0),
    ("favicon", "/favicon.ico", "none", "", 0),
    ("manifest", "/static/manifest.json", "none", "", 0),
    ("avatar", "/images/avatars/", "number", ".png", 200_000),
    ("icon", "/static/img/icons/", "number", ".png?v=2", 40),
    ("space_banner", "/espaces/", "space", "/banniere.jpg", 0),
    ("api_poll", "/api/notifications/count", "none", "", 0),
    ("api_unread", "/api/messagerie/non-lus", "none", "", 0),
    ("api_prefs", "/api/utilisateur/preferences", "none", "", 0),
    ("api_space", "/api/espaces/", "space", "/activite", 0),
    ("office_doc", "/ressources/documents/", "number", ".docx", 60_000),
    ("wp_login", "/wp-login.php", "none", "", 0),
    ("dotenv", "/.env", "none", "", 0),
    ("phpmyadmin", "/phpmyadmin/index.php", "none", "", 0),
    ("xmlrpc", "/xmlrpc.php", "none", "", 0),
)
NAMES = tuple(name for name, *_ in TEMPLATES)
INDEX = {name: index for index, name in enumerate(NAMES)}
# The bundle a browser fetches with the first page of a visit, in order.
FIRST_PAGE_ASSETS = np.array([INDEX[name] for name in ("css_app", "js_vendor", "js_app", "font", "logo", "favicon")])
API_AFTER_PAGE = np.array([INDEX[name] for name in ("api_unread", "api_prefs", "api_poll")])
VARIABLES = ("none", "number", "week", "space")


def sample_path(index: int) -> str:
    """A path the template writes, with a placeholder variable (letters: valid as a number's or space's place)."""
    _, prefix, variable, suffix, _ = TEMPLATES[index]
    return prefix + ("" if variable == "none" else "x") + suffix


def is_page_path(path: str) -> bool:
    """The contract's path rule for a page view: query removed, not a static asset, not under /api/ or /static/."""
    bare = path.split("?", 1)[0]
    extension = bare.rsplit("/", 1)[-1].rsplit(".", 1)[-1] if "." in bare.rsplit("/", 1)[-1] else ""
    return extension.lower() not in ASSET_EXTENSIONS and not bare.startswith(("/api/", "/static/"))


def names_space(index: int) -> bool:
    """Whether a page view of this template counts its space as used (`/espaces/X` or `/espaces/X/...`)."""
    path = sample_path(index)
    return TEMPLATES[index][2] == "space" and is_page_path(path) and bool(SPACE_PATH.match(path.split("?", 1)[0]))


def template_table() -> pl.DataFrame:
    """The templates as columns: prefix, variable code, suffix, largest number, page flag, space flag."""
    return pl.DataFrame({
        "name": list(NAMES),
        "prefix": [prefix for _, prefix, *_ in TEMPLATES],
        "variable": [VARIABLES.index(variable) for _, _, variable, *_ in TEMPLATES],
        "suffix": [suffix for *_, suffix, _ in TEMPLATES],
        "largest": [largest for *_, largest in TEMPLATES],
        "is_page": [is_page_path(sample_path(index)) for index in range(len(TEMPLATES))],
        "names_space": [names_space(index) for index in range(len(TEMPLATES))],
    })


TABLE = template_table()
IS_PAGE = TABLE["is_page"].to_numpy()
NAMES_SPACE = TABLE["names_space"].to_numpy()
LARGEST = TABLE["largest"].to_numpy()
VARIABLE = TABLE["variable"].to_numpy()


def paths(template: pl.Series, variable: pl.Series, space_ids: pl.Series) -> pl.Series:
    """The request paths of rows given their template and variable (a number, a week, or a space's row)."""
    kind = pl.Series(VARIABLE).gather(template)
    frame = pl.DataFrame({"kind": kind, "value": variable,
                          "prefix": TABLE["prefix"].gather(template), "suffix": TABLE["suffix"].gather(template)})
    space_text = space_ids.gather(variable.clip(0, len(space_ids) - 1))
    middle = (pl.when(pl.col("kind") == 0).then(pl.lit(""))
              .when(pl.col("kind") == 3).then(pl.lit(space_text))
              .otherwise(pl.col("value").cast(pl.String)))
    return frame.select(pl.concat_str("prefix", middle, "suffix")).to_series()
