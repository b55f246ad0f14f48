print("wharf-bench")
