# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     title: Options
#     level: beginner
#     minutes: 10
# ---

# %% tags=["x"
x = 1
