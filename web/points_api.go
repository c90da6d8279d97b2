package web

// The points API, fixed with integrators. (Being written.)
func (s *Server) registerPointsAPI() {}
