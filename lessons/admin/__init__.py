from lessons.admin import course, labs, quizzes  # noqa: F401 - registers the model admins
