import Glibc
import Testing

@testable import UVLoop

@Suite struct FileReaderTests {
    @Test func aFileIsOpenedStatedReadAtOffsetsAndClosed() throws {
        let contents = Pattern.bytes(offset: 0, count: 100_000)
        let file = try TemporaryFile(contents: contents)
        let observed = Locked<(size: Int64, regular: Bool, middle: [UInt8], tail: Int, pastEnd: Int, closeError: UVError?)?>(nil)
        let done = Signal()
        try withRunningLoop { loop in
            loop.execute {
                FileReader.open(path: file.path, on: loop) { opened in
                    guard case .success(let reader) = opened else { return done.fire() }
                    reader.status { status in
                        guard case .success(let status) = status else { return done.fire() }
                        reader.read(offset: 40_000, count: 1000) { middle in
                            reader.read(offset: 99_000, count: 5000) { tail in
                                reader.read(offset: 200_000, count: 10) { pastEnd in
                                    reader.close { closeError in
                                        let middleBytes = (try? middle.get()).map { $0.withUnsafeBytes { [UInt8]($0) } } ?? []
                                        observed.update {
                                            $0 = (
                                                status.size, status.isRegularFile, middleBytes,
                                                (try? tail.get())?.count ?? -1, (try? pastEnd.get())?.count ?? -1, closeError
                                            )
                                        }
                                        done.fire()
                                    }
                                }
                            }
                        }
                    }
                }
            }
            #expect(done.wait())
        }
        let result = try #require(observed.value)
        #expect(result.size == 100_000)
        #expect(result.regular)
        #expect(result.middle == Array(contents[40_000..<41_000]))
        #expect(result.tail == 1000)
        #expect(result.pastEnd == 0)
        #expect(result.closeError == nil)
    }

    @Test func openingAMissingFileFailsWithENOENT() throws {
        let outcome = Locked<UVError?>(nil)
        let done = Signal()
        try withRunningLoop { loop in
            loop.execute {
                FileReader.open(path: "/nonexistent/wharf/file", on: loop) { result in
                    if case .failure(let error) = result { outcome.update { $0 = error } }
                    done.fire()
                }
            }
            #expect(done.wait())
        }
        #expect(outcome.value == .enoent)
    }

    @Test func readingADirectoryFailsWithEISDIRAndBadRangesAreRejected() throws {
        let outcome = Locked<(directory: Bool, read: UVError?, negative: UVError?, huge: UVError?)?>(nil)
        let done = Signal()
        try withRunningLoop { loop in
            loop.execute {
                FileReader.open(path: "/tmp", on: loop) { result in
                    guard case .success(let reader) = result else { return done.fire() }
                    reader.status { status in
                        reader.read(offset: 0, count: 10) { read in
                            reader.read(offset: -1, count: 10) { negative in
                                reader.read(offset: 0, count: Int.max) { huge in
                                    func error(_ result: Result<SharedBytes, UVError>) -> UVError? {
                                        if case .failure(let error) = result { return error }
                                        return nil
                                    }
                                    outcome.update {
                                        $0 = ((try? status.get())?.isDirectory ?? false, error(read), error(negative), error(huge))
                                    }
                                    reader.close()
                                    reader.close()
                                    done.fire()
                                }
                            }
                        }
                    }
                }
            }
            #expect(done.wait())
        }
        #expect(outcome.value?.directory == true)
        #expect(outcome.value?.read == .eisdir)
        #expect(outcome.value?.negative == .einval)
        #expect(outcome.value?.huge == .einval)
    }
}
