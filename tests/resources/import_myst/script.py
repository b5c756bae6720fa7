print("just a script, not a notebook")
