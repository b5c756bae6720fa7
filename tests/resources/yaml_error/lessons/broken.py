# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     title: Broken header
#     level: beginner
#     minutes: 10
#     tags: [numpy, plots
#     requires: []
# ---

# %%
x = 1
