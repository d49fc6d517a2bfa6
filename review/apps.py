from django.apps import AppConfig


class ReviewConfig(AppConfig):
    name = "review"
    verbose_name = "Review queue"

    def ready(self):
        from lessons import attempts, page_extras
        from review import cards
        from review import page_extras as review_pages
        from sockets_site import learner_state

        learner_state.register("cards", cards.snapshot_cards)
        attempts.answers_recorded.connect(cards.record_quiz_answers, dispatch_uid="review")
        page_extras.on_course_page(review_pages.reviews_due)
        page_extras.on_lesson_page(review_pages.lesson_warm_up)
