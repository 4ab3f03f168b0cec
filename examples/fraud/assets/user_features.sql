-- Per card holder: spending profile over the cleaned transactions, joined with the user file.
-- Money is summed as DECIMAL so that the result does not depend on the order DuckDB's threads
-- add rows in (a floating-point sum would change in its last bits and with it the content hash).
WITH tx AS (
    SELECT
        t.user_id,
        t.merchant_id,
        t.country,
        t.timestamp,
        CAST(t.amount AS DECIMAL(18, 2)) AS amount,
        hour(t.timestamp) < 6 AS is_night,
        row_number() OVER (
            PARTITION BY t.user_id ORDER BY t.amount DESC, t.transaction_id
        ) AS amount_rank,
        sum(CAST(t.amount AS DECIMAL(18, 2))) OVER (
            PARTITION BY t.user_id ORDER BY t.timestamp
            RANGE BETWEEN INTERVAL 1 DAY PRECEDING AND CURRENT ROW
        ) AS spend_24h,
        count(*) OVER (
            PARTITION BY t.user_id ORDER BY t.timestamp
            RANGE BETWEEN INTERVAL 1 DAY PRECEDING AND CURRENT ROW
        ) AS tx_24h
    FROM cleaned_transactions AS t
),
per_user AS (
    SELECT
        user_id,
        count(*) AS tx_count,
        sum(amount) AS total_amount,
        max(amount) AS max_amount,
        sum(amount) FILTER (WHERE amount_rank <= 3) AS top3_amount,
        count(DISTINCT merchant_id) AS distinct_merchants,
        count(DISTINCT country) AS distinct_countries,
        count(*) FILTER (WHERE is_night) AS night_tx_count,
        max(spend_24h) AS max_spend_24h,
        max(tx_24h) AS max_tx_24h,
        min(timestamp) AS first_tx_at,
        max(timestamp) AS last_tx_at
    FROM tx
    GROUP BY user_id
),
foreign_use AS (
    SELECT t.user_id, count(*) AS foreign_tx_count
    FROM cleaned_transactions AS t
    JOIN users AS u ON u.user_id = t.user_id
    WHERE t.country <> u.country
    GROUP BY t.user_id
)
SELECT
    p.user_id,
    u.country AS home_country,
    CAST(u.age AS BIGINT) AS age,
    CAST(u.signup_date AS DATE) AS signup_date,
    p.tx_count,
    CAST(p.total_amount AS DOUBLE) AS total_amount,
    round(CAST(p.total_amount AS DOUBLE) / p.tx_count, 2) AS avg_amount,
    CAST(p.max_amount AS DOUBLE) AS max_amount,
    CASE WHEN p.total_amount = 0 THEN 0.0
         ELSE round(CAST(p.top3_amount AS DOUBLE) / CAST(p.total_amount AS DOUBLE), 4) END AS top3_share,
    p.distinct_merchants,
    p.distinct_countries,
    round(p.night_tx_count / p.tx_count, 4) AS night_share,
    round(coalesce(f.foreign_tx_count, 0) / p.tx_count, 4) AS foreign_share,
    CAST(p.max_spend_24h AS DOUBLE) AS max_spend_24h,
    p.max_tx_24h,
    p.first_tx_at,
    p.last_tx_at,
    date_diff('day', CAST(u.signup_date AS DATE), CAST(p.last_tx_at AS DATE)) AS account_age_days
FROM per_user AS p
JOIN users AS u ON u.user_id = p.user_id
LEFT JOIN foreign_use AS f ON f.user_id = p.user_id
