from lessons.admin import course, quizzes  # noqa: F401 - registers the model admins
