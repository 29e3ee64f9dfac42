#include "trading/domain/order_table.hpp"

#include <algorithm>
#include <bit>
#include <cstring>

namespace trading {

OrderTable::OrderTable() : ring_(kRingPages, nullptr) {}

void OrderTable::add_chunk(std::size_t pages) {
  chunks_.emplace_back(pages);
  page_capacity_ += pages;
  Page* first = chunks_.back().begin();
  // Taken from the back: the chunk's first page goes out first.
  for (std::size_t i = pages; i > 0; --i) free_pages_.push_back(first + (i - 1));
}

void OrderTable::reserve(std::size_t orders) {
  const std::size_t pages = 2 * (orders / kPageIds) + 4;
  if (page_capacity_ < pages) add_chunk(pages - page_capacity_);
  overflow_.reserve(orders);
}

OrderTable::Page* OrderTable::take_page(std::uint64_t number) {
  if (free_pages_.empty()) add_chunk(std::max<std::size_t>(16, page_capacity_ / 2));
  Page* page = free_pages_.back();
  free_pages_.pop_back();
  page->number = number;
  page->live = 0;
  ring_[number & (kRingPages - 1)] = page;
  ++pages_in_use_;
  return page;
}

void OrderTable::give_back(Page* page) {
  ring_[page->number & (kRingPages - 1)] = nullptr;
  --pages_in_use_;
  free_pages_.push_back(page);
}

void OrderTable::to_overflow(Page* page) {
  // Eight used-bytes at a time: each 1 byte is one low bit of its byte in the word.
  for (std::uint64_t w = 0; w < kPageIds; w += 8) {
    std::uint64_t bytes = 0;
    std::memcpy(&bytes, page->used + w, sizeof bytes);
    for (; bytes != 0; bytes &= bytes - 1) {
      const std::uint64_t i = w + static_cast<std::uint64_t>(std::countr_zero(bytes)) / 8;
      overflow_.insert(OrderId(page->number << kPageBits | i), page->nodes[i] - 1);
      page->nodes[i] = 0;
    }
  }
  std::memset(page->used, 0, sizeof page->used);
  in_pages_ -= page->live;
  page->live = 0;
  give_back(page);
}

void OrderTable::advance(std::uint64_t number) {
  const std::uint64_t old = newest_;
  newest_ = number;
  // Pages that were among the two newest (old - 1, old) and are no longer: kept if dense.
  // Pages leaving the ring: number + kRingPages <= newest_. Both lie in [first, old].
  const std::uint64_t first = old + 1 >= kRingPages ? old + 1 - kRingPages : 0;
  const std::uint64_t leaving_last = number >= kRingPages ? number - kRingPages : 0;
  const auto check = [&](std::uint64_t n) {
    Page* page = ring_[n & (kRingPages - 1)];
    if (page == nullptr || page->number != n) return;
    const bool leaves_ring = n + kRingPages <= newest_;
    if (leaves_ring || (n + 1 < newest_ && page->live < kMinLive)) to_overflow(page);
  };
  if (number >= kRingPages) {
    for (std::uint64_t n = first; n <= std::min(leaving_last, old); ++n) check(n);
  }
  for (std::uint64_t n = old >= 1 ? old - 1 : 0; n <= old; ++n) check(n);
}

void OrderTable::insert_slow(OrderId id, std::uint32_t node) {
  const std::uint64_t number = id.value() >> kPageBits;
  if (number > newest_) advance(number);
  Page* page = ring_[number & (kRingPages - 1)];
  if (page == nullptr && number + 1 >= newest_) page = take_page(number);  // one of the newest two
  if (page != nullptr && page->number == number) {
    page->put(id.value() & (kPageIds - 1), node);
    ++in_pages_;
    return;
  }
  overflow_.insert(id, node);
}

void OrderTable::emptied(Page* page) {
  if (page->live == 0) {
    give_back(page);
  } else if (page->number + 1 < newest_) {
    to_overflow(page);
  }
}

}  // namespace trading
