// The review page's HTML template (review_page_template.cpp).
#pragma once

namespace echo::review {
const char* page_template();
}  // namespace echo::review
