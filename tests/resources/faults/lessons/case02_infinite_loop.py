# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     title: A cell that never ends
#     level: beginner
#     minutes: 5
# ---

# %%
started = True

# %%
while True:
    pass

# %%
never = True
