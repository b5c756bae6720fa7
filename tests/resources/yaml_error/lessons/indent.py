# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     title: Bad indentation
#     level: beginner
#    minutes: 10
# ---

# %%
x = 1
