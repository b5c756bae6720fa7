# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     title: A failing shell command
#     level: beginner
#     minutes: 5
# ---

# %%
x = 1

# %%
# !exit 3

# %%
y = 2
