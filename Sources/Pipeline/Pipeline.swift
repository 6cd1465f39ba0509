// Pipeline orchestration (being wired by the lead).
