"""Clean the raw card transactions: the one place where the processor's dirt is removed."""

import polars as pl

from assetbuild import asset

# Settlement currencies we accept. "XXX" is a valid ISO-4217 code ("no currency") but never a
# settlement currency, and lower-case or made-up codes ("eur", "EURO", "US$") are malformed.
ACCEPTED_CURRENCIES = ["EUR", "USD", "GBP", "CHF", "SEK", "PLN"]

TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S"


def _typed(df: pl.DataFrame) -> pl.DataFrame:
    """Give the columns their real types whatever the reader inferred (CSV text or typed rows)."""
    ts = pl.col("timestamp")
    if df.schema["timestamp"] == pl.String:
        ts = ts.str.to_datetime(TIMESTAMP_FORMAT, time_unit="us", strict=True)
    fraud = pl.col("is_fraudulent")
    if df.schema["is_fraudulent"] == pl.String:
        fraud = fraud.str.to_lowercase() == "true"
    return df.with_columns(
        ts.cast(pl.Datetime("us")).alias("timestamp"),
        pl.col("amount").cast(pl.Float64),
        fraud.cast(pl.Boolean).alias("is_fraudulent"),
        pl.col("transaction_id", "user_id", "merchant_id", "currency", "country").cast(pl.String),
    )


@asset(
    description="Card transactions without duplicates, bad amounts, unknown users or malformed currencies",
    tags=["payments"],
    owner="risk-team",
    retries=1,
)
def cleaned_transactions(raw_transactions: pl.DataFrame, users: pl.DataFrame) -> pl.DataFrame:
    tx = _typed(raw_transactions).unique()  # exact duplicate rows: an ingest retried
    # an id that still occurs twice has conflicting contents: neither copy can be trusted
    tx = tx.filter(pl.len().over("transaction_id") == 1)
    return (
        tx.filter(
            pl.col("amount").is_not_null()
            & (pl.col("amount") >= 0)
            & pl.col("currency").is_in(ACCEPTED_CURRENCIES)
            & pl.col("timestamp").is_not_null()
        )
        .join(users.select(pl.col("user_id").cast(pl.String)), on="user_id", how="semi")
        .select(
            "transaction_id",
            "timestamp",
            "user_id",
            "merchant_id",
            "amount",
            "currency",
            "country",
            "is_fraudulent",
        )
        .sort("timestamp", "transaction_id")
    )
