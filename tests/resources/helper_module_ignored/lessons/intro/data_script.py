# ---
# title: a YAML-looking header without a workshopkit block
# ---

print('data')
