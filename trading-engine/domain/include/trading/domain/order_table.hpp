// OrderTable: OrderId -> node index for one book, the book's order lookup. The engine hands out
// order ids in rising order, so the orders a book holds mostly have recent ids, close together:
// those are kept in pages of 512 consecutive ids, each a plain array indexed by the id's low
// bits (no hashing, no probing, and a cancel of a recent order touches a line a recent insert
// already brought in). A ring of the latest 1024 page numbers finds a page. An id held anywhere
// else lives in an overflow hash (OrderIndex):
//   - an id older than the ring (an order resting for more than ~512 k ids),
//   - an id whose page has become sparse (fewer than 16 of its ids still here, once newer pages
//     have begun), such as a book whose ids are interleaved with many other books' or the GTC
//     orders left from earlier days,
//   - an id inserted again after its page was given up (a replace that moves an older order),
//     or out of order (a snapshot's orders come by price, not by id).
// So memory stays bounded whatever the pattern: a page is kept only while it is one of the two
// newest or holds 16+ orders (<= ~160 bytes per order), and the overflow holds the rest.
// For every page number either the page exists and holds all of this table's ids in it, or none
// of them are in a page. Move-only (pages are referred to by address). Not thread-safe.
#pragma once

#include <cstdint>
#include <vector>

#include "trading/domain/order_index.hpp"

namespace trading {

class OrderTable {
 public:
  static constexpr std::uint32_t kMissing = OrderIndex::kMissing;
  static constexpr int kPageBits = 9;
  static constexpr std::uint64_t kPageIds = std::uint64_t{1} << kPageBits;  // ids per page
  static constexpr std::uint64_t kRingPages = 1024;  // pages the ring can find
  // An older page keeps its ids while it holds at least this many (below, they move to the
  // overflow and the page is reused).
  static constexpr std::uint32_t kMinLive = 16;

  OrderTable();
  OrderTable(const OrderTable&) = delete;
  OrderTable& operator=(const OrderTable&) = delete;
  OrderTable(OrderTable&&) noexcept = default;
  OrderTable& operator=(OrderTable&&) noexcept = default;
  ~OrderTable() = default;

  [[gnu::always_inline]] std::uint32_t find(OrderId id) const {
    const std::uint64_t number = id.value() >> kPageBits;
    const Page* page = ring_[number & (kRingPages - 1)];
    if (page != nullptr && page->number == number) [[likely]] {
      return page->nodes[id.value() & (kPageIds - 1)] - 1;  // 0 (empty) - 1 = kMissing
    }
    return overflow_.size() == 0 ? kMissing : overflow_.find(id);
  }
  // `id` must not be held already.
  [[gnu::always_inline]] void insert(OrderId id, std::uint32_t node) {
    const std::uint64_t number = id.value() >> kPageBits;
    Page* page = ring_[number & (kRingPages - 1)];
    if (page != nullptr && page->number == number) [[likely]] {
      page->put(id.value() & (kPageIds - 1), node);
      ++in_pages_;
      return;
    }
    insert_slow(id, node);
  }
  // Removes `id` if it is held.
  void erase(OrderId id) { erase_if_held<false>(id); }
  // Removes `id`, which must be held (the book erasing one of its orders): its entry is cleared
  // without being looked at first.
  void erase_held(OrderId id) { erase_if_held<true>(id); }
  // Room for `orders` without growing: pages for twice that many dense ids and an overflow of
  // that size (address space; pages are touched as orders come).
  void reserve(std::size_t orders);
  std::size_t size() const { return in_pages_ + overflow_.size(); }
  // Ids held in the overflow (tests and the memory bound).
  std::size_t overflow_size() const { return overflow_.size(); }
  // Pages in use (tests and the memory bound).
  std::size_t pages_in_use() const { return pages_in_use_; }
  std::size_t memory_bytes() const {
    return page_capacity_ * sizeof(Page) + ring_.size() * sizeof(Page*) + overflow_.memory_bytes();
  }

 private:
  struct Page {
    std::uint64_t number;  // id >> kPageBits of every id in it
    std::uint32_t live;    // non-empty entries
    // 1 where an entry is non-empty: moving a sparse page to the overflow scans these 512
    // bytes eight at a time, not the 2 KB of nodes. A byte, not a bit: a put or a remove is then
    // one store (a bit took a shift, a mask and a read-modify-write).
    std::uint8_t used[kPageIds];
    std::uint32_t nodes[kPageIds];  // node + 1; 0 = empty

    void put(std::uint64_t i, std::uint32_t node) {
      nodes[i] = node + 1;
      used[i] = 1;
      ++live;
    }
    template <bool kHeld>
    bool remove(std::uint64_t i) {
      if (!kHeld && nodes[i] == 0) return false;
      nodes[i] = 0;
      used[i] = 0;
      --live;
      return true;
    }
  };

  // erase() and erase_held(): with kHeld the entry is not read before it is cleared.
  template <bool kHeld>
  [[gnu::always_inline]] void erase_if_held(OrderId id) {
    const std::uint64_t number = id.value() >> kPageBits;
    Page* page = ring_[number & (kRingPages - 1)];
    if (page != nullptr && page->number == number) [[likely]] {
      if (!page->template remove<kHeld>(id.value() & (kPageIds - 1))) return;
      --in_pages_;
      if (page->live < kMinLive) [[unlikely]] {
        emptied(page);
      }
      return;
    }
    overflow_.erase(id);
  }
  // insert() of an id without a page: a new page, the overflow.
  [[gnu::noinline]] void insert_slow(OrderId id, std::uint32_t node);
  // A page fell below kMinLive: given back when empty, or moved to the overflow when older than
  // the two newest.
  [[gnu::noinline]] void emptied(Page* page);
  Page* take_page(std::uint64_t number);
  void give_back(Page* page);
  // Moves a page's ids to the overflow and gives the page back.
  void to_overflow(Page* page);
  // `number` is the newest page yet: pages leaving the ring, and the pages that stop being the
  // two newest while sparse, go to the overflow.
  void advance(std::uint64_t number);
  void add_chunk(std::size_t pages);

  std::vector<Page*> ring_;   // by page number mod kRingPages; nullptr = no page
  std::uint64_t newest_ = 0;  // highest page number seen
  std::size_t in_pages_ = 0;
  std::size_t pages_in_use_ = 0;
  std::vector<ZeroedArray<Page>> chunks_;  // page storage (addresses stay put on a move)
  std::size_t page_capacity_ = 0;
  std::vector<Page*> free_pages_;  // all zero
  OrderIndex overflow_;
};

}  // namespace trading
