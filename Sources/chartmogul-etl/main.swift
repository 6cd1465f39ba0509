print("chartmogul-etl: being wired")
