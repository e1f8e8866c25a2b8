print("indextts")
