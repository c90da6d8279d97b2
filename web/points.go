package web

// The points pages: rules, awards and claims, review, households, the
// public board, appeals. (Being written.)
func (s *Server) registerPointsPages() {}
