/// A binary min-heap: `first` is the smallest element. O(log n) push and pop.
struct PriorityHeap<Element: Comparable & Sendable>: Sendable {
    private(set) var storage: [Element] = []

    var first: Element? { storage.first }
    var count: Int { storage.count }
    var isEmpty: Bool { storage.isEmpty }

    mutating func push(_ element: Element) {
        storage.append(element)
        var child = storage.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard storage[child] < storage[parent] else { break }
            storage.swapAt(child, parent)
            child = parent
        }
    }

    @discardableResult
    mutating func popFirst() -> Element? {
        guard !storage.isEmpty else { return nil }
        if storage.count == 1 { return storage.removeLast() }
        let top = storage[0]
        storage[0] = storage.removeLast()
        var parent = 0
        let n = storage.count
        while true {
            let left = 2 * parent + 1
            guard left < n else { break }
            let right = left + 1
            var smallest = left
            if right < n, storage[right] < storage[left] { smallest = right }
            guard storage[smallest] < storage[parent] else { break }
            storage.swapAt(smallest, parent)
            parent = smallest
        }
        return top
    }
}
