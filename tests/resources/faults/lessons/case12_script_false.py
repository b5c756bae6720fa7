# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     title: A cell that is never run
#     level: beginner
#     minutes: 5
# ---

# %%
x = 1

# %%
# %%script false --no-raise-error
raise ValueError("never")

# %%
y = 2
