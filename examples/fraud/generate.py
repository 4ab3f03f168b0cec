"""Generate the fraud example's source data: card transactions, users and merchants.

Deterministic: a fixed seed and a fixed reference date (never the wall clock), so every run
writes byte-identical files and a second `assetbuild build` after re-generating builds nothing.
Files whose bytes would not change are not rewritten.

    python examples/fraud/generate.py            # from any folder; writes examples/fraud/data/

Writes, next to this script:
    data/transactions/transactions_YYYY_MM.csv   ~100k rows over the 30 days before REFERENCE_DATE
    data/users.csv                               5,000 card holders
    data/merchants.parquet                       500 merchants

The transactions carry realistic dirt that `cleaned_transactions` removes: exact duplicate
rows (an ingest retried), negative and missing amounts, unknown users and malformed
currency codes. Fraud is drawn from a logistic model of observable features (night time,
high amounts for the category, risky merchant categories, new accounts, foreign country,
compromised accounts), so the model in `fraud_scores` has something to learn.
"""

from __future__ import annotations

import io
import math
import random
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import polars as pl

SEED = 20261120
REFERENCE_DATE = datetime(2026, 11, 20)  # fixed on purpose: output must not depend on today
WINDOW_DAYS = 30
N_USERS = 5_000
N_MERCHANTS = 500
N_TRANSACTIONS = 99_000  # before the ~1% duplicate rows are added

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"

# fmt: off
# home country -> weight among card holders
HOME_COUNTRIES = {
    "DE": 22, "FR": 15, "GB": 14, "US": 10, "NL": 8, "ES": 8, "IT": 8,
    "BE": 4, "AT": 3, "PL": 3, "SE": 3, "IE": 2,
}
# countries that only appear as merchant locations (travel, online shops, offshore gambling)
FOREIGN_ONLY = ["CH", "PT", "GR", "TR", "AE", "TH", "MT", "CY", "BR", "NG", "MX", "SG"]
CURRENCY_OF = {"GB": "GBP", "US": "USD", "PL": "PLN", "SE": "SEK", "CH": "CHF"}
EURO_AREA = {"DE", "FR", "NL", "ES", "IT", "BE", "AT", "IE", "PT", "GR", "MT", "CY"}

# category -> (share of merchants, risk level, typical amount, amount spread, fraud log-odds, online)
CATEGORIES = {
    "grocery":        (0.20, "low",    35.0, 0.7, -0.8, False),
    "restaurants":    (0.15, "low",    28.0, 0.6, -0.6, False),
    "fuel":           (0.08, "low",    55.0, 0.4, -0.3, False),
    "pharmacy":       (0.05, "low",    20.0, 0.6, -0.8, False),
    "clothing":       (0.10, "medium", 70.0, 0.7, 0.0, False),
    "entertainment":  (0.06, "low",    40.0, 0.7, 0.0, False),
    "electronics":    (0.08, "medium", 250.0, 0.9, 0.9, True),
    "travel":         (0.08, "medium", 400.0, 0.8, 0.6, True),
    "digital_goods":  (0.07, "medium", 25.0, 1.0, 0.8, True),
    "jewelry":        (0.03, "high",   300.0, 1.0, 1.1, False),
    "gambling":       (0.04, "high",   80.0, 1.1, 1.4, True),
    "crypto":         (0.03, "high",   200.0, 1.2, 1.6, True),
    "money_transfer": (0.03, "high",   150.0, 1.0, 1.3, True),
}
RISKY = [c for c, spec in CATEGORIES.items() if spec[1] != "low"]

NAME_PREFIX = [
    "Northwind", "Blue Harbor", "Golden", "Silver Oak", "Red Fox", "Evergreen", "Urban", "Corner",
    "Alpine", "Sunrise", "Atlas", "Nova", "Lucky Star", "Riverside", "Metro", "Orchid", "Maple",
    "Crown", "Harbor", "Pioneer", "Velvet", "Summit", "Bright", "Union", "Castle", "Lighthouse",
]
NAME_NOUN = {
    "grocery": ["Market", "Grocers", "Foods", "Fresh"], "restaurants": ["Bistro", "Kitchen", "Diner", "Trattoria"],
    "fuel": ["Fuel", "Petrol", "Energy"], "pharmacy": ["Pharmacy", "Apotheke", "Health"],
    "clothing": ["Apparel", "Outfitters", "Boutique"], "entertainment": ["Cinema", "Arena", "Tickets"],
    "electronics": ["Electronics", "Digital", "Tech"], "travel": ["Travel", "Airways", "Hotels", "Tours"],
    "digital_goods": ["Games", "Apps", "Media"], "jewelry": ["Jewellers", "Gems", "Gold"],
    "gambling": ["Casino", "Bet", "Poker"], "crypto": ["Coin", "Crypto Exchange", "Chain"],
    "money_transfer": ["Remit", "Transfer", "Pay"],
}
# hour of day -> relative frequency of legitimate card use
HOUR_WEIGHTS = [0.6, 0.35, 0.25, 0.2, 0.25, 0.5, 1.2, 2.5, 3.5, 4.0, 4.5, 5.0,
                6.0, 5.5, 5.0, 5.0, 5.5, 6.0, 6.5, 6.0, 5.0, 4.0, 2.5, 1.2]
FRAUD_HOUR_WEIGHTS = [4.0, 4.5, 4.5, 4.0, 3.5, 2.5, 1.5, 1.0, 1.0, 1.0, 1.0, 1.0,
                      1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5]
BAD_CURRENCIES = ["XXX", "eur", "EURO", "usd", "US$"]
# fmt: on


def cumulative(weights: list[float]) -> list[float]:
    out, total = [], 0.0
    for w in weights:
        total += w
        out.append(total)
    return out


def currency_for(country: str) -> str:
    if country in EURO_AREA:
        return "EUR"
    return CURRENCY_OF.get(country, "USD")


def make_merchants(rng: random.Random) -> list[dict]:
    cats = list(CATEGORIES)
    cat_cum = cumulative([CATEGORIES[c][0] for c in cats])
    homes = list(HOME_COUNTRIES)
    home_cum = cumulative(list(HOME_COUNTRIES.values()))
    merchants = []
    for i in range(1, N_MERCHANTS + 1):
        category = rng.choices(cats, cum_weights=cat_cum)[0]
        online = CATEGORIES[category][5]
        if online and rng.random() < 0.45:
            country = rng.choice(FOREIGN_ONLY)
        elif not online and rng.random() < 0.06:
            country = rng.choice(FOREIGN_ONLY)  # a shop abroad, visited on holiday
        else:
            country = rng.choices(homes, cum_weights=home_cum)[0]
        risk = CATEGORIES[category][1]
        if rng.random() < 0.08:  # risk assessments are not a pure function of the category
            risk = {"low": "medium", "medium": rng.choice(["low", "high"]), "high": "medium"}[risk]
        name = f"{rng.choice(NAME_PREFIX)} {rng.choice(NAME_NOUN[category])}"
        merchants.append(
            {
                "merchant_id": f"m{i}",
                "name": name,
                "category": category,
                "country": country,
                "risk_level": risk,
                "popularity": rng.lognormvariate(0.0, 1.0),
            }
        )
    return merchants


def make_users(rng: random.Random) -> list[dict]:
    homes = list(HOME_COUNTRIES)
    home_cum = cumulative(list(HOME_COUNTRIES.values()))
    first_signup = date(2018, 1, 1)
    old_span = (REFERENCE_DATE.date() - timedelta(days=45) - first_signup).days
    users = []
    for i in range(1, N_USERS + 1):
        if rng.random() < 0.07:  # a new account: opened in the last 45 days
            signup = REFERENCE_DATE.date() - timedelta(days=rng.randint(1, 45))
        else:
            signup = first_signup + timedelta(days=rng.randrange(old_span))
        age = min(90, max(18, int(rng.gauss(41, 14))))
        users.append(
            {
                "user_id": f"u{i}",
                "signup_date": signup,
                "country": rng.choices(homes, cum_weights=home_cum)[0],
                "age": age,
                "activity": rng.lognormvariate(0.0, 0.8),
                # a compromised card: from some moment on, fraudsters use it too
                "compromised_at": (REFERENCE_DATE - timedelta(seconds=rng.randrange(WINDOW_DAYS * 86400)))
                if rng.random() < 0.03
                else None,
            }
        )
    return users


def make_transactions(rng: random.Random, users: list[dict], merchants: list[dict]) -> list[dict]:
    start = REFERENCE_DATE - timedelta(days=WINDOW_DAYS)
    user_cum = cumulative([u["activity"] for u in users])
    by_country: dict[str, list[dict]] = {}
    for m in merchants:
        by_country.setdefault(m["country"], []).append(m)
    local_pool = {c: (ms, cumulative([m["popularity"] for m in ms])) for c, ms in by_country.items()}
    all_cum = cumulative([m["popularity"] for m in merchants])
    risky = [m for m in merchants if m["category"] in RISKY]
    risky_cum = cumulative([m["popularity"] for m in risky])
    hours = list(range(24))
    hour_cum, fraud_hour_cum = cumulative(HOUR_WEIGHTS), cumulative(FRAUD_HOUR_WEIGHTS)

    rows = []
    for _ in range(N_TRANSACTIONS):
        user = rng.choices(users, cum_weights=user_cum)[0]
        signup = datetime.combine(user["signup_date"], datetime.min.time())
        first_day = max(0, (signup - start).days + 1)  # no card use before the account exists
        day = rng.randrange(first_day, WINDOW_DAYS) if first_day < WINDOW_DAYS else WINDOW_DAYS - 1
        comp = user["compromised_at"]
        # a compromised card is used by the fraudster for part of its traffic after compromise
        fraudster = (
            comp is not None
            and start + timedelta(days=day) >= comp - timedelta(days=1)
            and rng.random() < 0.5
        )
        hour = rng.choices(hours, cum_weights=fraud_hour_cum if fraudster else hour_cum)[0]
        ts = start + timedelta(days=day, hours=hour, seconds=rng.randrange(3600))

        if fraudster and rng.random() < 0.6:
            merchant = rng.choices(risky, cum_weights=risky_cum)[0]
        elif rng.random() < 0.85 and user["country"] in local_pool:
            ms, cum = local_pool[user["country"]]
            merchant = rng.choices(ms, cum_weights=cum)[0]
        else:
            merchant = rng.choices(merchants, cum_weights=all_cum)[0]
        _, _, typical, spread, cat_logodds, _ = CATEGORIES[merchant["category"]]
        amount = rng.lognormvariate(math.log(typical), spread) * (rng.uniform(1.5, 4.0) if fraudster else 1.0)
        amount = round(min(amount, 25_000.0), 2) or 0.01

        night = hour < 6
        foreign = merchant["country"] != user["country"]
        account_age = (ts - signup).days
        logit = (
            -5.6
            + 1.5 * night
            + 0.9 * max(0.0, math.log(amount / typical))  # unusually high for the category
            + cat_logodds
            + 1.4 * (account_age < 30)
            + 1.1 * foreign
            + (0.6 if merchant["risk_level"] == "high" else 0.0)
            + (3.2 if fraudster else 0.0)
            + 0.02 * max(0, 30 - user["age"])
        )
        fraud = rng.random() < 1.0 / (1.0 + math.exp(-logit))
        rows.append(
            {
                "timestamp": ts,
                "user_id": user["user_id"],
                "merchant_id": merchant["merchant_id"],
                "amount": amount,
                "currency": currency_for(merchant["country"]),
                "country": merchant["country"],
                "is_fraudulent": fraud,
            }
        )

    rows.sort(key=lambda r: (r["timestamp"], r["user_id"], r["merchant_id"]))
    for i, r in enumerate(rows, start=1):
        r["transaction_id"] = f"t{i:06d}"
    return rows


def add_dirt(rng: random.Random, rows: list[dict]) -> list[dict]:
    """Dirt as it arrives from a card processor; `cleaned_transactions` removes every kind."""
    for r in rows:
        x = rng.random()
        if x < 0.003:
            r["amount"] = None  # missing amount
        elif x < 0.006:
            r["amount"] = -r["amount"]  # a reversal booked as a negative charge
        elif x < 0.010:
            r["user_id"] = f"u{rng.randint(N_USERS + 1, 2 * N_USERS)}"  # card not in the user file
        elif x < 0.0115:
            r["currency"] = rng.choice(BAD_CURRENCIES)
    out = []
    for r in rows:
        out.append(r)
        if rng.random() < 0.01:  # ingest retried: the same row twice
            out.append(dict(r))
    return out


TX_COLUMNS = [
    "transaction_id",
    "timestamp",
    "user_id",
    "merchant_id",
    "amount",
    "currency",
    "country",
    "is_fraudulent",
]


def write_if_changed(path: Path, data: bytes) -> bool:
    """Write only when the bytes differ, so unchanged files keep their stat (cheap no-op builds)."""
    if path.exists() and path.read_bytes() == data:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    return True


def csv_bytes(df: pl.DataFrame) -> bytes:
    buf = io.BytesIO()
    df.write_csv(buf)
    return buf.getvalue()


def main() -> int:
    t0 = time.perf_counter()
    rng = random.Random(SEED)
    merchants = make_merchants(rng)
    users = make_users(rng)
    rows = add_dirt(rng, make_transactions(rng, users, merchants))

    tx = pl.DataFrame(
        {c: [r[c] for r in rows] for c in TX_COLUMNS},
        schema={
            "transaction_id": pl.String,
            "timestamp": pl.Datetime("us"),
            "user_id": pl.String,
            "merchant_id": pl.String,
            "amount": pl.Float64,
            "currency": pl.String,
            "country": pl.String,
            "is_fraudulent": pl.Boolean,
        },
    ).with_columns(pl.col("timestamp").dt.strftime("%Y-%m-%dT%H:%M:%S"))
    written = []
    months = tx.with_columns(month=pl.col("timestamp").str.slice(0, 7).str.replace("-", "_"))
    for (month,), part in months.partition_by("month", as_dict=True, maintain_order=True).items():
        path = DATA / "transactions" / f"transactions_{month}.csv"
        if write_if_changed(path, csv_bytes(part.drop("month"))):
            written.append(path)

    user_df = pl.DataFrame(
        {
            "user_id": [u["user_id"] for u in users],
            "signup_date": [u["signup_date"] for u in users],
            "country": [u["country"] for u in users],
            "age": [u["age"] for u in users],
        },
        schema={"user_id": pl.String, "signup_date": pl.Date, "country": pl.String, "age": pl.Int64},
    )
    if write_if_changed(DATA / "users.csv", csv_bytes(user_df)):
        written.append(DATA / "users.csv")

    merchant_df = pl.DataFrame(
        {c: [m[c] for m in merchants] for c in ["merchant_id", "name", "category", "country", "risk_level"]}
    )
    buf = io.BytesIO()
    merchant_df.write_parquet(buf, statistics=True)
    if write_if_changed(DATA / "merchants.parquet", buf.getvalue()):
        written.append(DATA / "merchants.parquet")

    fraud_rate = tx["is_fraudulent"].mean()
    print(
        f"{tx.height} transactions ({fraud_rate:.2%} fraudulent), {user_df.height} users, "
        f"{merchant_df.height} merchants -> {DATA} "
        f"({len(written)} file(s) written, {time.perf_counter() - t0:.2f} s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
