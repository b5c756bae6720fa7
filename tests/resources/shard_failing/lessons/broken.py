# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     id: broken
#     title: Broken
#     level: beginner
#     minutes: 10
# ---

# %%
x = 1

# %%
raise ValueError("broken on purpose")
