from rest_framework.pagination import PageNumberPagination


class Pagination(PageNumberPagination):
    """?page=2&page_size=100; PAGE_SIZE rows by default, at most 100."""

    page_size_query_param = "page_size"
    max_page_size = 100
