# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     title: Options
#     level: beginner
#     minutes: 10
# ---

# %% [markdown]
# # Options

# %% tags=["x"
x = 1

# %% tags=["ok"]
y = 2

# %% [markdown] slideshow={"slide_type": "notes"
# Notes

# %% {"tags": ["a",]}
z = 3

# %% tags="exercise"
w = 4
