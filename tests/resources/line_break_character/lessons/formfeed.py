# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     title: Form feed
#     level: beginner
#     minutes: 10
# ---

# %%
x = 1

# %%
s = 'a b'
