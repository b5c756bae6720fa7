# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     title: Plain script
#     level: beginner
#     minutes: 10
# ---

import numpy as np

print(np.arange(3))
