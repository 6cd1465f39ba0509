#!/usr/bin/env python3
"""Reference implementation, in Python with orjson, of the transform mapping for app rows
(app.user + app.transaction), used by `etl-bench transform` as the speed yardstick.

It applies the same rules as Sources/Transform for these kinds: customers merged by e-mail under
the oldest user, invoice key <gateway>_<gateway_transaction_id>, plan_mapping, paid service period
(from the row, else transaction date + plan interval with month-end clamping), test/failed/pending
rows skipped, negative/absurd/unknown-currency rows rejected, refunds as <key>-refund-<cents>,
invoices sorted by external_id. Invoices are written exactly like the Swift stage (sorted keys,
compact), so the benchmark can compare the two outputs byte for byte.

usage: transform_reference.py EXTRACT_NDJSON PLAN_MAPPING_JSON OUT_INVOICES_NDJSON
prints one JSON line: {"records", "seconds", "peak_rss_bytes", "invoices"}
"""
import calendar
import resource
import sys
import time
from datetime import datetime, timezone

import orjson

ABSURD = 1_000_000_000_000
EXP = {"USD": 2, "EUR": 2, "EGP": 2, "GBP": 2, "KWD": 3, "JPY": 0}


def parse_ts(s):
    # ISO 8601 / Postgres text with offset → Unix seconds (whole seconds).
    s = s.strip().replace(" ", "T", 1)
    if s.endswith("Z") or s.endswith("z"):
        s = s[:-1] + "+00:00"
    if "." in s[19:]:
        head, rest = s[:19], s[19:]
        i = 1
        while i < len(rest) and rest[i].isdigit():
            i += 1
        s = head + rest[i:]
    if len(s) == 10:
        s += "T00:00:00+00:00"
    d = datetime.fromisoformat(s)
    if d.tzinfo is None:
        d = d.replace(tzinfo=timezone.utc)
    return int(d.timestamp())


def iso(sec):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(sec))


def add_interval(sec, unit, count):
    if unit == "day":
        return sec + 86400 * count
    months = count * (12 if unit == "year" else 1)
    t = time.gmtime(sec)
    total = t.tm_year * 12 + (t.tm_mon - 1) + months
    y, m = divmod(total, 12)
    m += 1
    d = min(t.tm_mday, calendar.monthrange(y, m)[1])
    return calendar.timegm((y, m, d, t.tm_hour, t.tm_min, t.tm_sec))


def plan_ext(name, cur, count, unit):
    n = "-".join(name.lower().split())
    return f"{n}_{cur.lower()}_{count}{unit}"


def peak_rss():
    # VmHWM is this process's own high-water mark (ru_maxrss on Linux keeps the parent's across exec).
    try:
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def main():
    src, mapping_path, out_path = sys.argv[1:4]
    mapping = orjson.loads(open(mapping_path, "rb").read())
    t0 = time.perf_counter()
    users = {}
    rows = 0
    with open(src, "rb") as f:  # pass 1: users
        for line in f:
            rows += 1
            e = orjson.loads(line)
            if e.get("kind") == "app.user":
                r = e["record"]
                email = "".join((r.get("email") or "").split()).lower() or None
                users[r["id"]] = (email, parse_ts(r["created_at"]) if r.get("created_at") else None, bool(r.get("is_test")))
    canonical = {u: u for u in users}
    by_email = {}
    for uid, (email, created, test) in users.items():
        if email and not test:
            by_email.setdefault(email, []).append((created is None, created or 0, uid))
    for email, group in by_email.items():
        group.sort()
        for _, _, uid in group[1:]:
            canonical[uid] = group[0][2]
    invoices = []
    with open(src, "rb") as f:  # pass 2: transactions
        for line in f:
            e = orjson.loads(line)
            if e.get("kind") != "app.transaction":
                continue
            r = e["record"]
            meta = r.get("metadata") or {}
            if meta.get("livemode") is False or r["status"] in ("failed", "pending"):
                continue
            cust = canonical.get(r["user_id"], r["user_id"])
            u = users.get(cust)
            if u and u[2]:
                continue
            cur = r["currency"].upper()
            amount = r["amount_cents"]
            if cur not in EXP or amount < 0 or amount > ABSURD:
                continue
            key = r["gateway"] + "_" + r["gateway_transaction_id"]
            date = parse_ts(r["transaction_date"])
            item = {"amount_in_cents": amount, "discount_amount_in_cents": r["discount_amount_cents"],
                    "external_id": key + "-1", "quantity": 1, "tax_amount_in_cents": r["tax_amount_cents"]}
            if r["product_type"] == "subscription":
                spec = mapping.get(r["plan_name"])
                if spec is None or spec["currency"] != cur:
                    continue
                start = parse_ts(r["period_start"]) if r.get("period_start") else date
                end = parse_ts(r["period_end"]) if r.get("period_end") else add_interval(start, spec["interval"], spec["interval_count"])
                item.update(type="subscription", plan_external_id=plan_ext(spec["name"], cur, spec["interval_count"], spec["interval"]),
                            subscription_external_id=r["gateway"] + "_" + r["gateway_subscription_id"],
                            service_period_start=iso(start), service_period_end=iso(end), prorated=False)
            else:
                item.update(type="one_time", description=r.get("plan_name") or "One-time payment")
            txs = [{"date": iso(date), "external_id": key + "-payment", "result": "successful", "type": "payment"}]
            refunded = r.get("refunded_amount_cents") or 0
            if r["status"] == "refunded" and refunded == 0:
                refunded = amount
            if refunded > amount:
                continue
            if refunded > 0:
                rd = parse_ts(r["refunded_at"]) if r.get("refunded_at") else date
                txs.append({"amount_in_cents": refunded, "date": iso(rd), "external_id": f"{key}-refund-{refunded}",
                            "result": "successful", "type": "refund"})
            inv = {"app_transaction_id": r["id"], "currency": cur, "customer_external_id": cust, "date": iso(date),
                   "external_id": key, "gateway": r["gateway"], "line_items": [item], "transactions": txs}
            invoices.append((key.encode(), orjson.dumps(inv, option=orjson.OPT_SORT_KEYS)))
    invoices.sort(key=lambda p: p[0])
    with open(out_path, "wb") as out:
        for _, b in invoices:
            out.write(b)
            out.write(b"\n")
    secs = time.perf_counter() - t0
    rss = peak_rss()
    print(orjson.dumps({"records": rows, "seconds": secs, "peak_rss_bytes": rss, "invoices": len(invoices)}).decode())


if __name__ == "__main__":
    main()
