-- Per merchant and day: volume, spend and reported fraud, with 7-day moving figures.
-- The window is a calendar window (RANGE over the day), so days without sales do not
-- stretch it; money is summed as DECIMAL so the result is independent of row order.
WITH daily AS (
    SELECT
        merchant_id,
        CAST(timestamp AS DATE) AS day,
        count(*) AS tx_count,
        count(DISTINCT user_id) AS distinct_users,
        sum(CAST(amount AS DECIMAL(18, 2))) AS total_amount,
        max(amount) AS max_amount,
        count(*) FILTER (WHERE is_fraudulent) AS fraud_count
    FROM cleaned_transactions
    GROUP BY merchant_id, CAST(timestamp AS DATE)
)
SELECT
    d.merchant_id,
    m.name AS merchant_name,
    m.category,
    m.country AS merchant_country,
    m.risk_level,
    d.day,
    d.tx_count,
    d.distinct_users,
    CAST(d.total_amount AS DOUBLE) AS total_amount,
    round(CAST(d.total_amount AS DOUBLE) / d.tx_count, 2) AS avg_amount,
    d.max_amount,
    d.fraud_count,
    CAST(sum(d.tx_count) OVER last_7_days AS BIGINT) AS tx_count_7d,
    CAST(sum(d.total_amount) OVER last_7_days AS DOUBLE) AS total_amount_7d,
    round(CAST(sum(d.total_amount) OVER last_7_days AS DOUBLE) / sum(d.tx_count) OVER last_7_days, 2)
        AS avg_amount_7d,
    round(CAST(sum(d.total_amount) OVER last_7_days AS DOUBLE) / 7, 2) AS daily_amount_7d_avg
FROM daily AS d
JOIN merchants AS m ON m.merchant_id = d.merchant_id
WINDOW last_7_days AS (
    PARTITION BY d.merchant_id ORDER BY d.day
    RANGE BETWEEN INTERVAL 6 DAYS PRECEDING AND CURRENT ROW
)
